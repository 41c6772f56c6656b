"""The caller's audio on its way to the recogniser: one decoding task per call at a time.

Audio that arrives while a decode runs is gathered and handed to Vosk in one piece by the
next task, instead of one task per 20 ms frame. So a call never has more than one decode
queued on the shared decoders, and a call whose decoding fell behind (a burst of callers
speaking at once, more work than the cores can do for a moment) catches up in one call to
Vosk instead of fifty, without fifty GIL hand-overs between the event loop and a decoder
thread (each can wait up to the interpreter's 5 ms switch interval while the loop is busy).

Everything here runs on the event loop, except the recogniser's work, which runs on the
call's lane of the shared decoders (agi/workers.py); the lane keeps it in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Executor

from agi.speech.asr import Recognizer, Transcript
from agi.speech.audio import SAMPLE_RATE, SAMPLE_WIDTH

log = logging.getLogger(__name__)

BYTES_PER_MS = SAMPLE_RATE * SAMPLE_WIDTH / 1000


class RecognizerFeed:
    """Feeds ``recognizer`` on ``lane``; reports each new partial result to ``on_partial``."""

    def __init__(self, recognizer: Recognizer, lane: Executor, on_partial: Callable[[str], None],
                 on_decoded: Callable[[], None] | None = None) -> None:
        self._recognizer = recognizer
        self._lane = lane
        self._on_partial = on_partial
        self._on_decoded = on_decoded  # after every decode, whatever the words
        self._pending = bytearray()
        self._in_flight = 0
        self.decodes = 0  # tasks handed to the lane (for tests and the bench)

    @property
    def behind_ms(self) -> float:
        """How much of the audio fed so far the recogniser has not decoded yet (ms)."""
        return (len(self._pending) + self._in_flight) / BYTES_PER_MS

    def feed(self, pcm: bytes) -> None:
        """Caller audio for the recogniser: decoded now, or with the next batch."""
        if not pcm:
            return
        self._pending += pcm
        if not self._in_flight:
            self._decode_pending()

    async def final(self) -> Transcript:
        """The turn's transcript, after every byte fed so far (raises RuntimeError once the
        lane is shut down: the call is closing)."""
        loop = asyncio.get_running_loop()
        if self._pending:  # queued on the lane before the final: it hears the whole turn
            data, self._pending = bytes(self._pending), bytearray()
            self.decodes += 1
            loop.run_in_executor(self._lane, self._recognizer.accept, data).add_done_callback(_quiet)
        return await loop.run_in_executor(self._lane, self._recognizer.final)

    def _decode_pending(self) -> None:
        data, self._pending = bytes(self._pending), bytearray()
        try:
            future = asyncio.get_running_loop().run_in_executor(self._lane, self._recognizer.accept, data)
        except RuntimeError:  # the lane is shut down: the call is closing
            return
        self._in_flight = len(data)
        self.decodes += 1
        future.add_done_callback(self._decoded)

    def _decoded(self, future: asyncio.Future[str | None]) -> None:
        self._in_flight = 0
        if not future.cancelled() and future.exception() is None and future.result():
            self._on_partial(future.result() or "")
        elif not future.cancelled() and future.exception() is not None:
            log.debug("decoding failed: %s", future.exception())  # the final reports it
        if self._on_decoded is not None and not future.cancelled():
            self._on_decoded()
        if self._pending:
            self._decode_pending()


def _quiet(future: asyncio.Future[str | None]) -> None:
    if not future.cancelled():
        future.exception()  # retrieved: the final that follows reports any failure
