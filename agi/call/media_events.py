"""What a call's media tells the session (:meth:`agi.call.media.MediaSession.next_event`):
small frozen events, one per thing that happened on the line."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CallerTurn:
    """The caller finished a turn; ``text`` is the recogniser's final result."""

    text: str
    confidence: float | None
    speech_ended_at: float  # monotonic time the caller stopped speaking
    endpoint_wait_ms: float  # silence the endpointer waited for
    final_ms: float  # time the recogniser took to produce the final result
    barged_in: bool
    caller_gone: bool = False  # the caller hung up mid-turn: keep the words, answer nothing


@dataclass(frozen=True)
class CallerSilent:
    """Nothing was said for the no-input timeout."""


@dataclass(frozen=True)
class DigitPressed:
    digit: str


@dataclass(frozen=True)
class CallerHungUp:
    """The caller (or the PBX) ended the media stream."""


MediaEvent = CallerTurn | CallerSilent | DigitPressed | CallerHungUp
