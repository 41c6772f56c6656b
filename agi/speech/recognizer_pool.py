"""Warm native Vosk recognisers, lent to a caller turn and given back at its end.

A Kaldi recogniser on a lookahead model (the small Vosk models: HCLr.fst + Gr.fst)
expands the composed decoding graph lazily and caches what it expanded: a fresh one
spends about twice the CPU on its first utterance (measured on the Korean model: 2.1 s
of CPU for a 1.9 s utterance, against 0.95 s for a warm one) and grows to ~30 MB as it
caches. Kept by each call for the whole call, as before, they cost ~85 MB per call at
16 calls; made fresh per turn they halve the calls a core holds. So recognisers belong
to the model, not to calls: a turn borrows a warm one and gives it back, memory follows
the callers speaking at the moment, and idle ones beyond ``max_idle`` are freed (their
memory handed back to the system).
"""

from __future__ import annotations

import atexit
import ctypes
import threading
import weakref
from collections.abc import Callable
from typing import Any

from agi.workers import machine_cores

# Idle warm recognisers kept per model: enough for the turns of a busy moment (callers
# speak well under half of a call) without holding much memory once calls are gone.
IDLE_PER_CORE = 4

try:
    _libc: Any = ctypes.CDLL("libc.so.6")
    _libc.malloc_trim  # noqa: B018 - glibc only: musl and others have no malloc_trim
except (OSError, AttributeError):
    _libc = None


def return_freed_memory() -> None:
    """Give the heap's free pages back to the system (glibc) after a recogniser is freed:
    its many small native allocations otherwise stay in the heap and resident memory
    only grows."""
    if _libc is not None:
        _libc.malloc_trim(0)


class RecognizerPool:
    """Native recognisers of one model: ``take`` one for a turn, ``give`` it back after."""

    def __init__(self, make: Callable[[], Any], max_idle: int | None = None) -> None:
        self._make = make
        self.max_idle = max_idle if max_idle is not None else IDLE_PER_CORE * machine_cores()
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self.made = 0
        self.lent = 0

    def take(self) -> Any:
        """A warm recogniser if one is idle, else a new one (errors from ``make`` pass)."""
        with self._lock:
            self.lent += 1
            if self._idle:
                return self._idle.pop()
        recognizer = self._make()
        with self._lock:
            self.made += 1
        return recognizer

    def give(self, recognizer: Any) -> None:
        """Back from a turn (already flushed or reset by the borrower)."""
        with self._lock:
            self.lent -= 1
            if len(self._idle) < self.max_idle:
                self._idle.append(recognizer)
                return
        del recognizer
        return_freed_memory()

    @property
    def idle(self) -> int:
        return len(self._idle)


_pools: weakref.WeakKeyDictionary[Any, RecognizerPool] = weakref.WeakKeyDictionary()
_pools_lock = threading.Lock()
# Idle recognisers are freed before the interpreter tears vosk's module down (their
# __del__ needs it), not after with an "Exception ignored" per recogniser.
atexit.register(_pools.clear)


def pool_for(model: Any, make: Callable[[], Any]) -> RecognizerPool:
    """The pool of ``model`` (one per loaded model, living as long as the model)."""
    with _pools_lock:
        pool = _pools.get(model)
        if pool is None:
            pool = _pools[model] = RecognizerPool(make)
        return pool
