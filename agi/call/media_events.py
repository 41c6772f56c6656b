"""What a call's media tells the session (:meth:`agi.call.media.MediaSession.next_event`):
small frozen events, one per thing that happened on the line."""

from __future__ import annotations

import asyncio
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
    # the rest of the turn being answered, only thanks or agreement (agi/call/continuation.py):
    # keep the words, answer nothing
    acknowledgement: bool = False


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


def words_of(events: list[MediaEvent]) -> list[str]:
    """The words of the caller turns among ``events`` that said something."""
    return [e.text for e in events if isinstance(e, CallerTurn) and e.text.strip()]


class EventQueue:
    """The call's events in the order they happened; the session is their one reader."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[MediaEvent] = asyncio.Queue()

    def put(self, event: MediaEvent) -> None:
        self._queue.put_nowait(event)

    async def get(self) -> MediaEvent:
        return await self._queue.get()

    def __len__(self) -> int:
        return self._queue.qsize()

    def _take_all(self) -> list[MediaEvent]:
        return [self._queue.get_nowait() for _ in range(self._queue.qsize())]

    def push_back(self, event: MediaEvent) -> None:
        """Put ``event`` first again: read too early, it is for the next reader."""
        for queued in (event, *self._take_all()):
            self._queue.put_nowait(queued)

    def take_words(self) -> list[str]:
        """Take the words of the turns queued and not read (the call is ending)."""
        return words_of(self._take_all())

    def discard_input(self) -> list[MediaEvent]:
        """Take keys, turns and silences queued while nobody listened (a transfer ringing),
        to be answered by nobody; a hang-up stays. Returns what was taken."""
        queued = self._take_all()
        for event in queued:
            if isinstance(event, CallerHungUp):
                self._queue.put_nowait(event)
        return [event for event in queued if not isinstance(event, CallerHungUp)]
