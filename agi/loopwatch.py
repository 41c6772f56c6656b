"""An event-loop stall monitor: how often the loop was late by more than a frame or so.

Audio is paced in 20 ms frames on the event loop; anything that holds the loop longer
(a garbage collection freeing native objects, a parser fed hostile input, a blocking
call) delays every call at once. The monitor sleeps ``interval`` seconds at a time and
counts each wake-up later than ``threshold`` during which the loop's own thread also
burnt more than ``threshold`` of CPU: lateness because the machine was busy elsewhere
(the OS ran another process) is not the loop's fault and is not counted as a stall.
``/health`` shows the counts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Final

log = logging.getLogger(__name__)

# Late by more than two and a half frames: a caller hears that as a glitch.
STALL_THRESHOLD_S: Final = 0.05
CHECK_EVERY_S: Final = 0.1


class StallMonitor:
    """Counts event-loop stalls longer than ``threshold`` (and the worst one seen)."""

    def __init__(self, threshold: float = STALL_THRESHOLD_S, interval: float = CHECK_EVERY_S,
                 clock: Callable[[], float] = time.monotonic,
                 cpu_clock: Callable[[], float] = time.thread_time) -> None:
        self.threshold = threshold
        self.interval = interval
        self.stalls = 0
        self.worst_s = 0.0
        self._clock = clock
        self._cpu_clock = cpu_clock

    def observe(self, late_s: float, loop_cpu_s: float) -> None:
        """One wake-up ``late_s`` seconds after it was due, the loop thread having used
        ``loop_cpu_s`` of CPU since the previous one."""
        if loop_cpu_s <= self.threshold:
            return  # late, but not because of anything running on the loop
        self.worst_s = max(self.worst_s, late_s)
        if late_s > self.threshold:
            self.stalls += 1
            log.warning("event loop stalled %.0f ms (stall %d)", late_s * 1000, self.stalls)

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            due, cpu = self._clock() + self.interval, self._cpu_clock()
            await asyncio.sleep(self.interval)
            self.observe(max(0.0, self._clock() - due), self._cpu_clock() - cpu)

    def status(self) -> dict[str, float | int]:
        return {"loop_stalls": self.stalls, "loop_worst_stall_ms": round(self.worst_s * 1000, 1)}
