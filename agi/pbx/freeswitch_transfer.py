"""Transfers that come back, on FreeSWITCH: ESL ``originate`` then ``uuid_bridge``.

:class:`EslTransfers` implements :class:`agi.call.channel.Transfers` over the call's own
outbound ESL connection (``[freeswitch] esl_transfers = true``). The caller stays parked
with us (unicast media) while ``api originate {origination_uuid=...,originate_timeout=N,
ignore_early_media=true}<target> &park()`` rings the target; FreeSWITCH answers the
``api`` when the target answered (``+OK <uuid>``) or not (``-ERR <hangup cause>``:
USER_BUSY, NO_ANSWER, CALL_REJECTED..., mod_commands.c originate_function, causes as
switch_channel_cause2str names them). ``connect`` is ``uuid_bridge <caller> <target>``
(the caller leaves park, so unicast ends: FREESWITCH.md), ``drop`` is ``uuid_kill``.

The target's own audio and keys would need a second unicast leg and its events on this
connection, which ``myevents`` filters out: the answered leg has no media here, so an
attended transfer on FreeSWITCH connects like a blind one (docs/transfers.md).
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Final

from agi.call.channel import AnsweredLeg, DialFailed, MediaStream
from agi.errors import EslError

if TYPE_CHECKING:
    from agi.pbx.freeswitch import FreeSwitchCall

__all__ = ["EslTransfers", "EslLeg", "cause_failure"]

log = logging.getLogger(__name__)

# The api answer comes when the ring time is over; FreeSWITCH needs a moment beyond it.
ORIGINATE_MARGIN_S: Final = 10.0
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


class EslLeg:
    """The answered target, parked on FreeSWITCH."""

    def __init__(self, call: FreeSwitchCall, target_uuid: str) -> None:
        self._call = call
        self.uuid = target_uuid

    @property
    def media(self) -> MediaStream | None:
        return None

    async def connect(self) -> None:
        await self._call.api(f"uuid_bridge {self._call.info.call_id} {self.uuid}")

    async def drop(self) -> None:
        await self._call.api(f"uuid_kill {self.uuid}")


class EslTransfers:
    """The second call of one outbound-ESL call's transfers."""

    def __init__(self, call: FreeSwitchCall) -> None:
        self._call = call

    async def dial(self, target: str, ring_s: float) -> AnsweredLeg | DialFailed:
        target_uuid = str(uuid.uuid4())
        variables = (f"origination_uuid={target_uuid},originate_timeout={int(ring_s)},"
                     "ignore_early_media=true")
        try:
            await self._call.api(f"originate {{{variables}}}{target} &park()", ring_s + ORIGINATE_MARGIN_S)
        except EslError as exc:
            cause = str(exc).rsplit(" ", 1)[-1].strip()
            log.info("call %s: transfer to %s: %s", self._call.info.call_id, target, cause)
            return DialFailed(cause_failure(cause), cause)
        return EslLeg(self._call, target_uuid)
