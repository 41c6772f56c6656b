"""What an end-of-turn check says of a pause (None where it cannot tell)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Verdict:
    """The silence after which this pause ends the turn: 0 the caller has finished (end it
    now); less than the usual window, probably finished; more, probably not."""

    window_ms: int

    @property
    def finished(self) -> bool:
        return self.window_ms == 0


FINISHED = Verdict(0)


class TurnCheck(Protocol):
    """An end-of-turn check run at each pause (agi/speech/intonation.py, turn_model.py)."""

    async def judge(self, pcm: bytes, trailing_ms: float, timeout_s: float) -> Verdict | None:
        """The verdict on a turn's audio up to now, whose last ``trailing_ms`` are the pause,
        within ``timeout_s`` or None."""
        ...
