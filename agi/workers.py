"""The process's worker layout: one executor per stage of the calls, each sized on purpose.

Layout, in one line: call state, I/O and Vosk decoding stay in this one process (Kaldi
decodes with the GIL released, so a few threads use every core without a 500 MB model copy
per process), while speech synthesis runs in several eSpeak NG processes (eSpeak is one
engine per process, so a process is the only way to have more than one).

Why per-stage executors instead of ``asyncio.to_thread``: the default pool is shared by
everything, so a burst of one stage (every call synthesising at once, a slow Rasa) held its
threads and the other stages' work of every other call queued behind it. Here a stage can
only wait for its own kind of work, and a call holds at most one decoder at a time
(:class:`Lane`), so no call waits because another is decoding.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from agi.config import WorkersSettings

T = TypeVar("T")


def machine_cores() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def resolved(count: int) -> int:
    """A ``[workers]`` count: 0 follows the machine (one per core)."""
    return count if count > 0 else machine_cores()


class Lane(Executor):
    """A serial executor for one call on a shared pool: its tasks run one at a time, in
    order, and the call never occupies more than one of the pool's threads."""

    def __init__(self, pool: Executor) -> None:
        self._pool = pool
        self._queue: deque[tuple[Future[Any], Callable[[], Any]]] = deque()
        self._lock = threading.Lock()
        self._running = False
        self._closed = False

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new work after the lane is shut down")
            self._queue.append((future, lambda: fn(*args, **kwargs)))
            if self._running:
                return future
            self._running = True
        self._kick()
        return future

    def _kick(self) -> None:
        try:
            self._pool.submit(self._drain)
        except RuntimeError as exc:  # the shared pool is shut down (server stopping)
            with self._lock:
                waiting, self._running = list(self._queue), False
                self._queue.clear()
            for future, _ in waiting:
                if future.set_running_or_notify_cancel():
                    future.set_exception(RuntimeError(f"decoders shut down: {exc}"))

    def _drain(self) -> None:
        # One task per pool turn: a long queue of this call never starves the others.
        with self._lock:
            future, job = self._queue.popleft()
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(job())
            except BaseException as exc:  # handed to whoever awaits the future
                future.set_exception(exc)
        with self._lock:
            if not self._queue:
                self._running = False
                return
        self._kick()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Refuse new work; with ``cancel_futures`` drop what has not started yet.

        ``wait`` is accepted for the Executor interface; the shared pool's threads are
        not this lane's to join.
        """
        with self._lock:
            self._closed = True
            if cancel_futures:  # the task running now is no longer in the queue
                for future, _ in self._queue:
                    future.cancel()


@dataclass
class Workers:
    """The executors every call shares, built once by ``permanence serve`` from ``[workers]``."""

    settings: WorkersSettings = field(default_factory=WorkersSettings)
    store: ThreadPoolExecutor = field(init=False)
    dialogue: ThreadPoolExecutor = field(init=False)
    decoders: ThreadPoolExecutor = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        # Threads start on first use only: an unused stage costs nothing.
        self.store = ThreadPoolExecutor(s.store, thread_name_prefix="store")
        self.dialogue = ThreadPoolExecutor(s.dialogue, thread_name_prefix="dialogue")
        self.decoders = ThreadPoolExecutor(resolved(s.decoders), thread_name_prefix="decode")

    @property
    def synthesis_processes(self) -> int:
        return resolved(self.settings.synthesis)

    def lane(self) -> Lane:
        """A call's own serial lane on the shared decoders."""
        return Lane(self.decoders)

    def shutdown(self) -> None:
        for pool in (self.store, self.dialogue, self.decoders):
            pool.shutdown(wait=False, cancel_futures=True)
