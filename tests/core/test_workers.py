"""The per-stage executors: a call's decoding lane, the sizes, the [workers] settings."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from agi.config import WorkersSettings, load_settings
from agi.errors import ConfigError
from agi.workers import Lane, Workers, machine_cores, resolved

WAIT_S = 10.0


def test_one_call_stuck_in_decoding_does_not_hold_the_others() -> None:
    # Two decoder threads, one call's lane stuck in its recogniser: every other call's
    # audio is still decoded, in order.
    with ThreadPoolExecutor(2) as pool:
        release = threading.Event()
        stuck = Lane(pool)
        held = [stuck.submit(release.wait, WAIT_S) for _ in range(5)]  # a slow call's frames
        others = [Lane(pool) for _ in range(3)]
        done = [[lane.submit(lambda n=n: n) for n in range(20)] for lane in others]
        assert all([f.result(WAIT_S) for f in futures] == list(range(20)) for futures in done)
        assert not any(f.done() for f in held)  # the slow call uses one thread at a time
        release.set()
        assert all(f.result(WAIT_S) for f in held)


def test_a_lane_runs_its_tasks_one_at_a_time_in_order() -> None:
    with ThreadPoolExecutor(4) as pool:
        lane = Lane(pool)
        seen: list[int] = []
        running = []

        def step(n: int) -> None:
            running.append(n)
            assert len(running) == 1  # never two of one call's tasks at once
            seen.append(n)
            running.remove(n)

        futures = [lane.submit(step, n) for n in range(200)]
        for future in futures:
            future.result(WAIT_S)
        assert seen == list(range(200))


def test_a_failing_task_fails_its_future_only() -> None:
    with ThreadPoolExecutor(1) as pool:
        lane = Lane(pool)
        bad = lane.submit(lambda: 1 / 0)
        good = lane.submit(lambda: "next")
        with pytest.raises(ZeroDivisionError):
            bad.result(WAIT_S)
        assert good.result(WAIT_S) == "next"


def test_a_closed_lane_refuses_work_and_drops_what_waits() -> None:
    with ThreadPoolExecutor(1) as pool:
        release = threading.Event()
        lane = Lane(pool)
        first = lane.submit(release.wait, WAIT_S)
        queued = lane.submit(lambda: "never")
        lane.shutdown(wait=False, cancel_futures=True)
        with pytest.raises(RuntimeError, match="shut down"):
            lane.submit(lambda: None)
        release.set()
        assert first.result(WAIT_S) is True
        assert queued.cancelled()


def test_sizes_follow_the_machine_unless_set() -> None:
    assert machine_cores() == len(os.sched_getaffinity(0))
    assert resolved(0) == machine_cores() and resolved(3) == 3
    workers = Workers(WorkersSettings(synthesis=0, decoders=3))
    try:
        assert workers.synthesis_processes == machine_cores()
        assert workers.decoders._max_workers == 3
        assert workers.store._max_workers == WorkersSettings().store
    finally:
        workers.shutdown()


@pytest.mark.parametrize(("key", "value"), [("synthesis", -1), ("decoders", 65), ("store", 0),
                                            ("dialogue", 0)])
def test_bad_worker_counts_name_the_key(key: str, value: int) -> None:
    with pytest.raises(ConfigError, match=f"workers.{key}"):
        load_settings(environ={f"PERMANENCE_WORKERS_{key.upper()}": str(value)})


def test_worker_counts_from_the_environment() -> None:
    settings = load_settings(environ={"PERMANENCE_WORKERS_SYNTHESIS": "3"})
    assert settings.workers == replace(WorkersSettings(), synthesis=3)


def test_work_for_a_shut_down_pool_fails_its_future_instead_of_raising() -> None:
    pool = ThreadPoolExecutor(1)
    lane = Lane(pool)
    assert lane.submit(lambda: 1).result(WAIT_S) == 1
    pool.shutdown()
    late = lane.submit(lambda: 2)  # a frame arriving while the server stops
    with pytest.raises(RuntimeError, match="decoders shut down"):
        late.result(WAIT_S)
