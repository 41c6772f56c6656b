"""The metrics Permanence exports in the Prometheus format (served on ``/metrics``).

Counters and histograms are updated as calls and turns happen. What lives in the
database (usage this month, the outbox backlog and dead letters) and the spool depth is
read at scrape time by :class:`StoreCollector`, in a worker thread bounded by
``STORE_READ_TIMEOUT_S``: a slow or unreachable database makes the scrape report the last
values it read (and ``permanence_store_metrics_stale 1``), never hang. The event loop's
stall counter and longest stall (:mod:`agi.loopwatch`) are read at scrape time too.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from agi.booking.spool import Spool
    from agi.booking.store import Store
    from agi.loopwatch import StallMonitor

log = logging.getLogger(__name__)

# A scrape waits at most this long for the database; Prometheus' own default timeout is 10 s.
STORE_READ_TIMEOUT_S = 2.0
STAGE_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)
STAGES = ("endpointing", "recognition", "dialogue", "synthesis")


class Metrics:
    """The counters Permanence exports; one registry per server (tests run several)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.calls = Counter("permanence_calls", "Calls handled, by tenant and outcome",
                             ["tenant", "outcome"], registry=self.registry)
        self.active = Gauge("permanence_active_calls", "Calls in progress", registry=self.registry)
        self.turn_latency = Histogram(
            "permanence_turn_latency_seconds",
            "End of caller speech to first answer frame",
            buckets=(0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0), registry=self.registry)
        self.stage_latency = Histogram(
            "permanence_stage_latency_seconds", "Time of each stage of a turn",
            ["stage"], buckets=STAGE_BUCKETS, registry=self.registry)

    def observe_stages(self, endpoint_ms: float, recognition_ms: float, dialogue_ms: float,
                       synthesis_ms: float) -> None:
        for stage, ms in zip(STAGES, (endpoint_ms, recognition_ms, dialogue_ms, synthesis_ms),
                             strict=True):
            self.stage_latency.labels(stage=stage).observe(max(ms, 0.0) / 1000)

    def watch_store(self, store: Store, spool: Callable[[], Spool | None],
                    clock: Callable[[], datetime] | None = None) -> StoreCollector:
        collector = StoreCollector(store, spool, clock)
        self.registry.register(collector)
        return collector

    def watch_loop(self, monitor: StallMonitor) -> LoopCollector:
        """Export ``monitor``'s stall count and longest stall on every scrape."""
        collector = LoopCollector(monitor)
        self.registry.register(collector)
        return collector


class LoopCollector(Collector):
    """The event-loop stall monitor's figures: plain reads, safe from the scrape's thread."""

    def __init__(self, monitor: StallMonitor) -> None:
        self._monitor = monitor

    def collect(self) -> Iterator[Metric]:
        m = self._monitor
        yield CounterMetricFamily(
            "permanence_event_loop_stalls",
            f"Times the event loop, busy itself, was late by more than {m.threshold * 1000:.0f} ms "
            "(every live call's audio stopped meanwhile)", value=m.stalls)
        yield GaugeMetricFamily("permanence_event_loop_longest_stall_seconds",
                                "The longest the busy event loop was late since the start",
                                value=m.worst_s)
        yield GaugeMetricFamily("permanence_event_loop_stall_threshold_seconds",
                                "Lateness counted as a stall", value=m.threshold)


@dataclass
class _Snapshot:
    usage: list[tuple[str, str, str, float]] = field(default_factory=list)  # metric, tenant, outcome, v
    outbox: dict[str, int] = field(default_factory=dict)  # status -> rows
    spool: int = 0


class StoreCollector(Collector):
    """Gauges read from the store at scrape time (bounded, see the module docstring)."""

    def __init__(self, store: Store, spool: Callable[[], Spool | None],
                 clock: Callable[[], datetime] | None = None) -> None:
        self._store = store
        self._spool = spool
        self._clock = clock or (lambda: datetime.now(UTC))
        self._last = _Snapshot()
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="metrics")
        self._pending: concurrent.futures.Future[_Snapshot] | None = None
        self._closed = False

    def _read(self) -> _Snapshot:
        from agi.booking.usage import month_days

        now = self._clock()
        snap = _Snapshot()
        for row in self._store.usage_days(*month_days(now.strftime("%Y-%m"))):
            snap.usage += [("calls", row.tenant_id, row.outcome, row.calls),
                           ("billed_minutes", row.tenant_id, row.outcome, row.billed_s / 60),
                           ("bookings", row.tenant_id, row.outcome, row.bookings),
                           ("transfers", row.tenant_id, row.outcome, row.transfers),
                           ("dialogue_fallbacks", row.tenant_id, row.outcome, row.fallbacks)]
        for status in ("pending", "dead"):
            snap.outbox[status] = len(self._store.outbox(status=status))
        spool = self._spool()
        snap.spool = spool.pending() if spool is not None else 0
        return snap

    def collect(self) -> Iterator[Metric]:
        if self._closed:  # the server stopped: what was last read, marked stale
            yield from self._families(self._last, 1)
            return
        if self._pending is None or self._pending.done():
            self._pending = self._pool.submit(self._read)
        stale = 0
        try:
            self._last = self._pending.result(timeout=STORE_READ_TIMEOUT_S)
        except concurrent.futures.TimeoutError:
            stale = 1  # still running: the next scrape picks its result up
        except Exception as exc:  # noqa: BLE001 - a scrape reports, it must not fail
            log.warning("metrics: cannot read the store: %s", exc)
            stale = 1
        yield from self._families(self._last, stale)

    @staticmethod
    def _families(snap: _Snapshot, stale: int) -> Iterator[Metric]:
        month: dict[str, GaugeMetricFamily] = {}
        helps = {"calls": "Calls this month (tenant's local days), by outcome",
                 "billed_minutes": "Billed minutes this month, by outcome",
                 "bookings": "Bookings made by calls this month",
                 "transfers": "Calls transferred to a human this month",
                 "dialogue_fallbacks": "Calls the builtin dialogue finished for Rasa this month"}
        for name, text in helps.items():
            month[name] = GaugeMetricFamily(f"permanence_month_{name}", text,
                                            labels=["tenant", "outcome"])
        for name, tenant, outcome, value in snap.usage:
            month[name].add_metric([tenant, outcome], value)
        yield from month.values()
        outbox = GaugeMetricFamily("permanence_outbox", "Outbox rows by status (pending = "
                                   "backlog, dead = dead letters)", labels=["status"])
        for status, n in snap.outbox.items():
            outbox.add_metric([status], n)
        yield outbox
        yield GaugeMetricFamily("permanence_spooled_writes",
                                "Writes waiting in the local spool for the database",
                                value=snap.spool)
        yield GaugeMetricFamily("permanence_store_metrics_stale",
                                "1 when the store did not answer in time for this scrape",
                                value=stale)

    def close(self) -> None:
        self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)
