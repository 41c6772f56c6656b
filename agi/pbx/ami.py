"""The Asterisk Manager Interface, on panoramisk's :class:`~panoramisk.Manager`.

One logged-in AMI connection per process, for the second call of a transfer that can
come back (:mod:`agi.pbx.asterisk_transfer`): ``Originate`` the target into the
AudioSocket application, ``Bridge`` it with the caller, ``Hangup`` it when refused.

What Asterisk sends, from main/manager.c (Asterisk 22): a banner line ``Asterisk Call
Manager/<AMI_VERSION>``; to ``Login`` either ``Response: Success`` / ``Message:
Authentication accepted`` (then ``Event: FullyBooted``) or, after a one-second pause,
``Response: Error`` / ``Message: Authentication failed`` and the connection is closed
(action_login). ``Originate`` with ``Async: true`` answers ``Message: Originate
successfully queued`` at once and an ``Event: OriginateResponse`` (same ActionID) when the
target answered or not: ``Response: Success|Failure``, ``Channel``, ``Reason`` (the last
AST_CONTROL_* seen: 4 answered, 5 busy, 8 congestion, 3 still ringing at the timeout,
1 hung up, 0 no channel; include/asterisk/frame.h), ``Uniqueid`` (fast_originate).
``Bridge`` answers ``Channels have been bridged`` or an error naming the missing channel
(main/features.c action_bridge).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Final

from panoramisk import Manager

from agi.config import AmiSettings
from agi.errors import AmiError, AmiLoginFailed

__all__ = ["AmiClient", "OriginateResult", "REASON_ANSWERED", "REASON_BUSY", "REASON_CONGESTION",
           "REASON_RINGING", "REASON_HANGUP", "REASON_NO_CHANNEL"]

log = logging.getLogger(__name__)

# OriginateResponse Reason values: AST_CONTROL_* of include/asterisk/frame.h.
REASON_NO_CHANNEL: Final = 0
REASON_HANGUP: Final = 1
REASON_RINGING: Final = 3
REASON_ANSWERED: Final = 4
REASON_BUSY: Final = 5
REASON_CONGESTION: Final = 8
# An action's answer: Asterisk answers at once; a silent AMI is a broken one.
ACTION_TIMEOUT_S: Final = 10.0
# panoramisk pings every ping_delay seconds and reconnects reconnect_timeout after a loss.
PING_S: Final = 10
RECONNECT_S: Final = 2


@dataclass(frozen=True)
class OriginateResult:
    """How the second call went: ``reason`` is one of the REASON_* codes."""

    success: bool
    reason: int
    channel: str  # the target's channel name, e.g. PJSIP/secretariat-00000002
    uniqueid: str


class _Manager(Manager):  # type: ignore[misc]  # panoramisk ships no type hints
    """panoramisk's Manager, which stops reconnecting once we closed it."""

    closed = False

    def connect(self, *args: Any, **kwargs: Any) -> Any:
        if self.closed:
            return None
        return super().connect(*args, **kwargs)


class AmiClient:
    """A logged-in AMI connection; :meth:`connect` fails loudly at start-up."""

    def __init__(self, settings: AmiSettings) -> None:
        self.settings = settings
        self._manager: _Manager | None = None

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    async def connect(self) -> None:
        """Connect and log in; :class:`AmiLoginFailed` says why not (unreachable, refused)."""
        s = self.settings
        manager = _Manager(host=s.host, port=s.port, username=s.username, secret=s.secret,
                           events="call", ping_delay=PING_S, ping_interval=PING_S,
                           reconnect_timeout=RECONNECT_S, loop=asyncio.get_running_loop(),
                           log=log)
        self._manager = manager
        try:
            async with asyncio.timeout(s.login_timeout_s):
                try:
                    await manager.connect()
                except OSError as exc:
                    raise AmiLoginFailed(f"AMI at {self.where} unreachable: {exc.strerror or exc} "
                                         "(is manager.conf enabled, ami.host/ami.port right?)") from exc
                while manager.authenticated_future is None and not manager.authenticated:
                    await asyncio.sleep(0)  # panoramisk sends Login from its connect callback
                answer = await manager.authenticated_future
        except TimeoutError as exc:
            await self.close()
            raise AmiLoginFailed(f"AMI at {self.where} did not answer the login within "
                                 f"{s.login_timeout_s:.0f} s") from exc
        except AmiLoginFailed:
            await self.close()
            raise
        if not answer.success:
            await self.close()
            raise AmiLoginFailed(f"AMI at {self.where} refused the login of {s.username!r}: "
                                 f"{answer.message or answer.response} (check ami.username and "
                                 "ami.secret against manager.conf)")
        log.info("AMI logged in at %s as %s", self.where, s.username)

    async def close(self) -> None:
        manager, self._manager = self._manager, None
        if manager is not None:
            manager.closed = True
            manager.close()

    async def _send(self, action: dict[str, str], timeout: float = ACTION_TIMEOUT_S) -> Any:
        if self._manager is None or not self._manager.authenticated:
            raise AmiError(f"AMI at {self.where} is not logged in")
        try:
            return await asyncio.wait_for(self._manager.send_action(action), timeout)
        except TimeoutError as exc:
            raise AmiError(f"AMI {action['Action']} unanswered within {timeout:.0f} s") from exc

    async def originate(self, target: str, *, application: str, data: str, ring_s: float,
                        channel_id: str, caller_id: str = "") -> OriginateResult:
        """Ring ``target`` and run ``application(data)`` on it once answered."""
        action = {"Action": "Originate", "Channel": target, "Application": application,
                  "Data": data, "Timeout": str(int(ring_s * 1000)), "Async": "true",
                  "ChannelId": channel_id}
        if caller_id:
            action["CallerID"] = caller_id
        answer = await self._send(action, ring_s + ACTION_TIMEOUT_S)
        messages: list[Any] = answer if isinstance(answer, list) else [answer]
        event = next((m for m in messages if m.get("Event") == "OriginateResponse"), None)
        if event is None:  # refused at once: "Originate failed", a permission, a bad channel
            raise AmiError(f"AMI Originate refused: {messages[0].get('Message', '')}")
        try:
            reason = int(event.get("Reason", REASON_NO_CHANNEL))
        except ValueError:
            reason = REASON_NO_CHANNEL
        return OriginateResult(success=event.get("Response") == "Success", reason=reason,
                               channel=event.get("Channel", ""), uniqueid=event.get("Uniqueid", ""))

    async def bridge(self, channel1: str, channel2: str) -> None:
        """Bridge two live channels; both leave the application they were in."""
        await self._ok({"Action": "Bridge", "Channel1": channel1, "Channel2": channel2, "Tone": "no"})

    async def hangup(self, channel: str) -> None:
        await self._ok({"Action": "Hangup", "Channel": channel})

    async def _ok(self, action: dict[str, str]) -> None:
        answer = await self._send(action)
        message = answer[0] if isinstance(answer, list) else answer
        if not message.success:
            raise AmiError(f"AMI {action['Action']} failed: {message.get('Message', '')}")
