"""What a pause inside the caller's turn is: a hesitation, the end, or the window's to decide.

The endpointer reports a pause after ``turns.pause_ms`` of silence (agi/speech/endpoint.py).
:class:`PauseJudge` then, in order:

1. waits for the words when the decoder has not reached the pause yet (calls crowding it):
   the pause is held and judged once they are known, so a turn never ends on words not
   heard yet;
2. holds the pause (the dictation window) when the words end on one no sentence ends on
   ("pour", "zéro six": agi/speech/unfinished.py);
3. hands the words to the speculation hook (agi/call/speculate.py), which may hold the
   pause too when the words ask for nothing yet;
4. asks the end-of-turn check (``turns.end_of_turn``: the caller's intonation, or
   smart-turn) about the turn's audio: its verdict is this pause's silence window, 0 (the
   caller has finished: the turn ends now), shorter or longer than the usual one; no
   verdict (or a late one) leaves the usual window. Never in dictation, and never over a
   hold of steps 1-3.

A pause the caller resumes from is moot: its check's verdict, if it comes, is dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from agi.speech.endpoint import Endpointer, EndpointEvent
from agi.speech.verdict import TurnCheck


class PauseJudge:
    """The pauses of one call's turns; ``end`` takes the endpointer's events of a turn ended
    by the check (the media session handles them as any end of turn)."""

    def __init__(self, endpointer: Endpointer, end: Callable[[list[EndpointEvent]], None],
                 clock: Callable[[], float]) -> None:
        self._endpointer = endpointer
        self._end = end
        self._clock = clock
        self.check: TurnCheck | None = None
        self.timeout_s = 0.15
        self.left_open: Callable[[str], bool] | None = None  # words a sentence cannot end on
        self.on_pause: Callable[[str], None] | None = None  # the speculation hooks
        self.on_resume: Callable[[], None] | None = None
        self.awaiting_words = False  # paused before the decoder reached the pause
        self._number = 0
        self._checks: set[asyncio.Task[None]] = set()

    def judge(self, words: str, caught_up: bool) -> None:
        """The caller paused (or new words came during the pause): judge it on ``words``."""
        self._number += 1
        if not caught_up:
            self.awaiting_words = True
            self._endpointer.hold()
            return
        self.awaiting_words = False
        if self.left_open is not None and self.left_open(words):
            self._endpointer.hold()  # "pour ...", "zéro six ...": a hesitation, not the end
            return
        if self.on_pause is not None:
            self.on_pause(words)
        if self.check is not None and not self._endpointer.dictation:
            audio = self._endpointer.turn_audio()
            trailing = self._endpointer.silence_ms(self._clock())
            task = asyncio.get_running_loop().create_task(self._ask(self.check, self._number, audio, trailing))
            self._checks.add(task)
            task.add_done_callback(self._checks.discard)

    def words_came(self, words: str, caught_up: bool) -> None:
        """The decoder reached a pause it was behind on: judge it on the words now known."""
        if self.awaiting_words and caught_up:
            self._endpointer.release()
            self.judge(words, caught_up=True)

    def resumed(self) -> None:
        """The caller spoke again: a check still running is now moot."""
        self._number += 1
        self.awaiting_words = False
        if self.on_resume is not None:
            self.on_resume()

    async def _ask(self, check: TurnCheck, number: int, audio: bytes, trailing_ms: float) -> None:
        verdict = await check.judge(audio, trailing_ms, self.timeout_s)
        if verdict is None or number != self._number:
            return  # no verdict, or the caller went on, or new words are being judged
        self._endpointer.judge(verdict.window_ms)
        self._end(self._endpointer.tick(self._clock()))  # over now, if the window has passed

    async def close(self) -> None:
        """Stop the checks, and let go of the call's hooks (they refer back to the media
        session and the conversation: the call is freed without waiting for a GC pass)."""
        for task in self._checks:
            task.cancel()
        await asyncio.gather(*self._checks, return_exceptions=True)
        self._end = _ignore
        self.check = self.left_open = self.on_pause = self.on_resume = None


def _ignore(_: list[EndpointEvent]) -> None:
    """A closed call's end of turn: nobody is listening any more."""
