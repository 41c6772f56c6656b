"""Transfers that come back, on FreeSWITCH: ESL ``originate`` into our socket, ``uuid_bridge``.

:class:`EslTransfers` implements :class:`agi.call.channel.Transfers` over the call's own
outbound ESL connection (``[freeswitch] esl_transfers = true``). The caller stays parked
with us (unicast media) while ``api originate {origination_uuid=...,originate_timeout=N,
ignore_early_media=true,permanence_leg=<token>}<target> '&socket(<host:port> async full)'``
rings the target. FreeSWITCH answers the ``api`` when the target answered (``+OK <uuid>``)
or not (``-ERR <hangup cause>``: USER_BUSY, NO_ANSWER, CALL_REJECTED..., mod_commands.c
originate_function; causes as switch_channel_cause2str names them).

The answered target runs the inline ``socket`` application (originate_function builds a
one-application extension from ``&app(args)``; the single quotes keep the blanks of the
argument together, switch_utils.c separate_string_blank_delim), so it reaches our
outbound-ESL listener as any call does, carrying ``permanence_leg`` in its channel data:
:class:`TargetLegs` hands that connection to the transfer waiting for it, which starts
unicast on it. The target then hears the summary of an attended transfer and its keys
arrive as DTMF events, on its own connection (``myevents`` on the caller's would hide
them). In async mode the socket application parks the channel (mod_event_socket.c
socket_function: switch_ivr_park), so both legs are parked with us and ``connect`` is
``uuid_bridge <caller> <target>`` over the caller's connection (each leg leaves park,
which ends its unicast: FREESWITCH.md), then we close the target's connection (closing an
outbound listener does not hang the channel up, listener_run's end). ``drop`` is
``uuid_kill <target>``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import TYPE_CHECKING, Final

from agi.call.channel import AnsweredLeg, DialFailed, MediaStream
from agi.errors import CallEnded, EslError, MediaUnavailable

if TYPE_CHECKING:
    from agi.pbx.freeswitch import FreeSwitchCall

__all__ = ["EslTransfers", "EslLeg", "TargetLegs", "cause_failure", "LEG_VARIABLE"]

log = logging.getLogger(__name__)

# The api answer comes when the ring time is over; FreeSWITCH needs a moment beyond it.
ORIGINATE_MARGIN_S: Final = 10.0
# The answered target's socket application connects at once (it is its only application).
LEG_CONNECT_TIMEOUT_S: Final = 5.0
# The channel variable that names the transfer an originated leg belongs to.
LEG_VARIABLE: Final = "permanence_leg"
# Target legs waiting for their connection, at most (each is one ringing transfer).
MAX_EXPECTED: Final = 1024
_BUSY: Final = frozenset({"USER_BUSY", "NORMAL_CIRCUIT_CONGESTION", "SWITCH_CONGESTION"})
_NO_ANSWER: Final = frozenset({"NO_ANSWER", "NO_USER_RESPONSE", "ALLOTTED_TIMEOUT",
                               "RECOVERY_ON_TIMER_EXPIRE", "PROGRESS_TIMEOUT"})
_REFUSED: Final = frozenset({"CALL_REJECTED", "USER_CHALLENGE"})


def cause_failure(cause: str) -> str:
    """The seam's reason for a FreeSWITCH hangup cause."""
    if cause in _BUSY:
        return "busy"
    if cause in _NO_ANSWER:
        return "no_answer"
    if cause in _REFUSED:
        return "refused"
    return "failed"


class TargetLegs:
    """Originated target legs expected on the outbound-ESL listener, by token.

    A token is unguessable (uuid4) and used once; a connection presenting an unknown or
    expired one is not a call and is hung up by the listener."""

    def __init__(self, address: str) -> None:
        self.address = address  # host:port for the socket application
        self._waiting: dict[str, asyncio.Future[FreeSwitchCall]] = {}

    def expect(self, token: str) -> asyncio.Future[FreeSwitchCall]:
        if len(self._waiting) >= MAX_EXPECTED:
            raise MediaUnavailable(f"{MAX_EXPECTED} transfer legs already ringing")
        future: asyncio.Future[FreeSwitchCall] = asyncio.get_running_loop().create_future()
        self._waiting[token] = future
        return future

    def forget(self, token: str) -> None:
        future = self._waiting.pop(token, None)
        if future is not None and not future.done():
            future.cancel()

    def offer(self, token: str, call: FreeSwitchCall) -> bool:
        """Give the waiting transfer its leg; False when nobody waits for ``token``."""
        future = self._waiting.pop(token, None)
        if future is None or future.done():
            return False
        future.set_result(call)
        return True


class EslLeg:
    """The answered target, parked on FreeSWITCH; ``target`` is its own ESL connection
    (None with no listener to reach: only the blind ``&park()`` leg is possible)."""

    def __init__(self, call: FreeSwitchCall, target_uuid: str, target: FreeSwitchCall | None = None,
                 media: MediaStream | None = None) -> None:
        self._call = call
        self._target = target
        self._media = media
        self.uuid = target_uuid

    @property
    def media(self) -> MediaStream | None:
        return self._media

    async def connect(self) -> None:
        try:
            await self._call.api(f"uuid_bridge {self._call.info.call_id} {self.uuid}")
        finally:
            await self._release()

    async def drop(self) -> None:
        try:
            await self._call.api(f"uuid_kill {self.uuid}")
        finally:
            await self._release()

    async def _release(self) -> None:
        if self._target is not None:
            await self._target.close()


class EslTransfers:
    """The second call of one outbound-ESL call's transfers."""

    def __init__(self, call: FreeSwitchCall, legs: TargetLegs | None = None) -> None:
        self._call = call
        self._legs = legs

    async def dial(self, target: str, ring_s: float) -> AnsweredLeg | DialFailed:
        target_uuid = str(uuid.uuid4())
        variables = (f"origination_uuid={target_uuid},originate_timeout={int(ring_s)},"
                     "ignore_early_media=true")
        if self._legs is None:
            return await self._originate(target, target_uuid, f"{{{variables}}}{target} &park()", ring_s)
        token = uuid.uuid4().hex
        waiting = self._legs.expect(token)
        try:
            command = (f"{{{variables},{LEG_VARIABLE}={token}}}{target} "
                       f"'&socket({self._legs.address} async full)'")
            answered = await self._originate(target, target_uuid, command, ring_s)
            if isinstance(answered, DialFailed):
                return answered
            return await self._with_media(target_uuid, waiting)
        finally:
            self._legs.forget(token)

    async def _originate(self, target: str, target_uuid: str, command: str,
                         ring_s: float) -> EslLeg | DialFailed:
        try:
            await self._call.api(f"originate {command}", ring_s + ORIGINATE_MARGIN_S)
        except EslError as exc:
            cause = str(exc).rsplit(" ", 1)[-1].strip()
            log.info("call %s: transfer to %s: %s", self._call.info.call_id, target, cause)
            return DialFailed(cause_failure(cause), cause)
        return EslLeg(self._call, target_uuid)

    async def _with_media(self, target_uuid: str,
                          waiting: asyncio.Future[FreeSwitchCall]) -> EslLeg | DialFailed:
        """The answered leg's own connection and unicast stream, or the leg hung up."""
        leg: FreeSwitchCall | None = None
        try:
            async with asyncio.timeout(LEG_CONNECT_TIMEOUT_S):
                leg = await waiting
            media = await leg.start_media(LEG_CONNECT_TIMEOUT_S)
        except (TimeoutError, MediaUnavailable, EslError, CallEnded, OSError) as exc:
            detail = str(exc) or "its socket application never connected"
            log.warning("call %s: the answered target %s has no media: %s",
                        self._call.info.call_id, target_uuid, detail)
            failed = EslLeg(self._call, target_uuid, leg)
            try:
                await failed.drop()
            except (EslError, CallEnded, OSError):
                pass
            return DialFailed("failed", f"the answered target's media: {detail}")
        return EslLeg(self._call, target_uuid, leg, media)
