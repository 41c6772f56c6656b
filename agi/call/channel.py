"""The one seam between a call and its PBX: call control and a media stream.

The call session (:mod:`agi.call.session`) knows no PBX. Each front implements these two
protocols: Asterisk with FastAGI + AudioSocket (:mod:`agi.pbx.asterisk_call`), FreeSWITCH
with outbound ESL + ``unicast`` (:mod:`agi.pbx.freeswitch`). Nothing under ``agi/call/``
imports ``agi.pbx`` (tests/call/test_imports.py checks it).

Call control is: what the PBX told us about the call (:class:`CallInfo`), answer, set a
variable the dialplan reads after us, start and end media, hang up, close (hand the
call back to the dialplan when it is still up: transfers are routed there).

Media is a full-duplex stream of 20 ms frames of signed-linear 16-bit little-endian
mono PCM at ``sample_rate`` (8000 or 16000 today), with DTMF digits and the end of the
stream as events. The front paces nothing: :class:`agi.call.media.MediaSession` sends
one frame every 20 ms by its own clock.

Transfers that come back (:mod:`agi.call.transfer`): a front that can place a second call
gives :attr:`CallChannel.transfers`; ``dial`` rings the target while the caller stays on
our media, and answers :class:`DialFailed` (busy, no answer, refused, failed) or an
:class:`AnsweredLeg`: the target's own media stream (for the spoken summary of an attended
transfer and the target's key), then ``connect`` (bridge caller and target; the call is
theirs) or ``drop``. A front without it (``None``) hands transfers to the dialplan.

Errors: a front raises :class:`agi.errors.CallEnded` once the call is gone, and maps its
protocol's failures to subclasses of :class:`agi.errors.PermanenceError` listed in
:data:`CHANNEL_ERRORS` (the session treats them as "the other side ended the call").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol

from agi.errors import AgiError, CallEnded, EslError

__all__ = [
    "CallInfo", "AudioIn", "DigitIn", "MediaHangup", "MediaIn", "MediaStream", "CallChannel",
    "CHANNEL_ERRORS", "FRAME_MS", "frame_bytes", "DialFailed", "AnsweredLeg", "Transfers",
    "DIAL_FAILURES", "MEDIA_CONNECT_TIMEOUT_S",
]

FRAME_MS: Final = 20
# Media flows within milliseconds of being asked for (AudioSocket connects, the first
# unicast datagram arrives); past this the media path is broken (firewall, wrong
# audiosocket_advertise, a UDP port FreeSWITCH could not bind) and the call goes back.
MEDIA_CONNECT_TIMEOUT_S: Final = 5.0
# The errors a front may raise from any call-control method once its PBX has gone.
CHANNEL_ERRORS: Final = (AgiError, EslError, CallEnded, OSError)


def frame_bytes(sample_rate: int) -> int:
    """Bytes in one 20 ms frame of 16-bit mono audio at ``sample_rate`` (320 at 8 kHz)."""
    return sample_rate * FRAME_MS // 1000 * 2


@dataclass(frozen=True)
class CallInfo:
    """What the PBX says about a call when it reaches us."""

    call_id: str  # the PBX's id: Asterisk's agi_uniqueid, FreeSWITCH's Unique-ID
    route: str  # the tenant the dialplan asked for (AGI path, permanence_tenant), or ""
    dialled: str  # the dialled number (agi_dnid, Caller-Destination-Number)
    caller: str  # the caller's number as the PBX gave it; "" or "unknown" when withheld
    channel_name: str  # for the call record: PJSIP/trunk-0001, sofia/internal/...
    pbx: str = "asterisk"  # "asterisk" or "freeswitch", for logs and records


@dataclass(frozen=True)
class AudioIn:
    """One frame of caller audio at the stream's rate."""

    pcm: bytes


@dataclass(frozen=True)
class DigitIn:
    """The caller pressed a DTMF key."""

    digit: str


@dataclass(frozen=True)
class MediaHangup:
    """The PBX ended the media (the caller hung up, or the leg broke)."""


MediaIn = AudioIn | DigitIn | MediaHangup

# Why a transfer did not reach a human: busy (or congested), no answer within the ring
# time, refused (the target declined the call or, attended, the caller), failed (no such
# target, the PBX refused the request).
DIAL_FAILURES: Final = ("busy", "no_answer", "refused", "failed")


@dataclass(frozen=True)
class DialFailed:
    """The target did not answer; ``reason`` is one of :data:`DIAL_FAILURES`."""

    reason: str
    detail: str = ""  # the PBX's own words (Asterisk's Reason code, FreeSWITCH's cause)


class MediaStream(Protocol):
    """Both directions of one call's audio."""

    @property
    def sample_rate(self) -> int:
        """Hz of what :meth:`receive` gives and :meth:`send_audio` takes."""
        ...

    async def receive(self) -> MediaIn:
        """The next event from the PBX; CallEnded after the MediaHangup was returned."""
        ...

    async def send_audio(self, pcm: bytes) -> None:
        """Send one frame now; CallEnded when the stream is gone."""
        ...

    async def hangup(self) -> None:
        """End the media from our side (idempotent; the channel may stay up)."""
        ...


class CallChannel(Protocol):
    """Call control of one call."""

    info: CallInfo
    transfers: Transfers | None  # None: transfers go back to the dialplan (PERMANENCE_TRANSFER)

    @property
    def hung_up(self) -> bool:
        """True once the PBX said the channel is down."""
        ...

    async def answer(self) -> None:
        ...

    async def set_variable(self, name: str, value: str) -> None:
        """Set a channel variable the dialplan reads after us (upper-case names such as
        ``PERMANENCE_RESULT``; a front may spell them its PBX's way)."""
        ...

    async def start_media(self, timeout: float) -> MediaStream:
        """Start media and wait until it flows; MediaUnavailable if it does not within
        ``timeout`` (the session then hands the caller to the dialplan's fallback)."""
        ...

    async def end_media(self, timeout: float) -> None:
        """Wait (at most ``timeout``) for the PBX side of the media to be over."""
        ...

    async def hangup(self) -> None:
        """Hang the call up and close the control connection."""
        ...

    async def close(self) -> None:
        """Close the control connection; a live channel goes back to the dialplan."""
        ...


class AnsweredLeg(Protocol):
    """The transfer target answered: its leg, still apart from the caller."""

    @property
    def media(self) -> MediaStream | None:
        """The target's audio (what it hears from us, its keys), or None when the front
        cannot give it (then only blind transfers are possible)."""
        ...

    async def connect(self) -> None:
        """Bridge the caller and the target: the call is theirs; our legs end."""
        ...

    async def drop(self) -> None:
        """Hang the target's leg up; the caller stays with us."""
        ...


class Transfers(Protocol):
    """Placing the second call of a transfer that can come back."""

    async def dial(self, target: str, ring_s: float) -> AnsweredLeg | DialFailed:
        """Ring ``target`` for at most ``ring_s`` seconds while the caller stays with us."""
        ...
