"""What an end-of-turn check says of a pause (None where it cannot tell)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Protocol, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


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


async def within(pool: Executor, work: Callable[[bytes], T], pcm: bytes, timeout_s: float, name: str) -> T | None:
    """A check's ``work`` on ``pcm`` in its own ``pool``, off the event loop; None (logged)
    when it fails or is later than ``timeout_s``: the silence window decides then."""
    loop = asyncio.get_running_loop()
    try:
        return await asyncio.wait_for(loop.run_in_executor(pool, work, pcm), timeout_s)
    except TimeoutError:
        log.info("%s late (> %.0f ms): the silence window decides", name, timeout_s * 1000)
        return None
    except (RuntimeError, ValueError) as exc:  # shut down, or audio it cannot read
        log.warning("%s failed: %s", name, exc)
        return None
