"""The event-loop stall counter on /metrics (agi.loopwatch -> agi.metrics): stalls counted,
the longest one exposed, read at scrape time, served over real HTTP by the health server."""

from __future__ import annotations

import asyncio
import time
import urllib.request

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from agi.health import HealthServer
from agi.loopwatch import StallMonitor
from agi.metrics import Metrics


def loop_figures(text: str) -> dict[str, float]:
    """The event-loop samples of a Prometheus text exposition, by sample name."""
    return {s.name: s.value for family in text_string_to_metric_families(text)
            if family.name.startswith("permanence_event_loop") for s in family.samples}


def test_stalls_and_the_longest_are_exported_as_they_happen() -> None:
    monitor = StallMonitor(threshold=0.05)
    metrics = Metrics()
    metrics.watch_loop(monitor)
    assert loop_figures(generate_latest(metrics.registry).decode()) == {
        "permanence_event_loop_stalls_total": 0.0,
        "permanence_event_loop_longest_stall_seconds": 0.0,
        "permanence_event_loop_stall_threshold_seconds": 0.05}
    monitor.observe(late_s=0.3, loop_cpu_s=0.3)  # a collection freeing recognisers
    monitor.observe(late_s=0.02, loop_cpu_s=0.2)  # busy, but on time: not a stall
    monitor.observe(late_s=0.9, loop_cpu_s=0.01)  # the machine ran something else: not ours
    monitor.observe(late_s=0.12, loop_cpu_s=0.15)
    figures = loop_figures(generate_latest(metrics.registry).decode())
    assert figures["permanence_event_loop_stalls_total"] == 2.0
    assert figures["permanence_event_loop_longest_stall_seconds"] == 0.3


def test_a_real_stall_on_the_loop_is_counted_and_served_on_metrics() -> None:
    monitor = StallMonitor(threshold=0.05, interval=0.02)
    metrics = Metrics()
    metrics.watch_loop(monitor)

    async def scenario() -> None:
        stop = asyncio.Event()
        watcher = asyncio.create_task(monitor.run_forever(stop))
        await asyncio.sleep(0.1)  # the monitor is sleeping between checks
        end = time.thread_time() + 0.3
        while time.thread_time() < end:  # 300 ms of CPU on the loop's own thread
            pass
        while monitor.stalls == 0:  # the next check sees it (bounded by the test's timeout)
            await asyncio.sleep(0.02)
        stop.set()
        await watcher

    asyncio.run(asyncio.wait_for(scenario(), 30))
    server = HealthServer("127.0.0.1", 0, lambda: {"status": "ok"}, metrics)
    server.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=10) as reply:
            figures = loop_figures(reply.read().decode())
    finally:
        server.stop()
    assert figures["permanence_event_loop_stalls_total"] == monitor.stalls >= 1
    assert figures["permanence_event_loop_longest_stall_seconds"] == monitor.worst_s >= 0.05
