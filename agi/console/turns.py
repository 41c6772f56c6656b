"""What ``permanence serve`` feeds the console and /metrics beside the calls.

* Each turn's timing (:class:`agi.call.services.TurnTiming`): per-stage histograms at
  once, and the figures written to the store by a background task (the turn hook never
  waits for the database; at most ``MAX_QUEUED_TURNS`` wait, older ones are dropped
  first when the database is away for long).
* After each call, the tenant's monthly usage thresholds (:mod:`agi.console.metering`).
* The ledger's own retention ([usage]), at start and daily.
* The store gauges of /metrics (:class:`agi.metrics.StoreCollector`).
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from agi.booking.latency import TurnFigures
from agi.config import Settings
from agi.console.metering import check_alerts
from agi.errors import StoreError
from agi.metrics import Metrics, StoreCollector

if TYPE_CHECKING:
    from agi.booking.spool import Spool
    from agi.booking.store import Store
    from agi.call.services import TurnTiming

log = logging.getLogger(__name__)

MAX_QUEUED_TURNS = 10_000
FLUSH_EVERY_S = 1.0
LEDGER_PURGE_EVERY_S = 24 * 3600.0


class TurnRecorder:
    def __init__(self, metrics: Metrics, settings: Settings) -> None:
        self._metrics = metrics
        self._settings = settings
        self._queue: collections.deque[TurnFigures] = collections.deque(maxlen=MAX_QUEUED_TURNS)
        self._store: Store | None = None
        self._clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._checks: set[asyncio.Task[None]] = set()
        self._collector: StoreCollector | None = None

    async def start(self, store: Store, spool: Callable[[], Spool | None],
                    clock: Callable[[], datetime] | None) -> None:
        self._store = store
        if clock is not None:
            self._clock = clock
        self._collector = self._metrics.watch_store(store, spool, clock)
        self._task = asyncio.create_task(self._run())

    def record(self, timing: TurnTiming) -> None:
        """The server's turn hook: histograms now, the store later."""
        self._metrics.observe_stages(timing.endpoint_wait_ms, timing.final_ms,
                                     timing.dialogue_ms, timing.tts_first_ms)
        voice = (None if timing.first_frame_at is None
                 else max(timing.first_frame_at - timing.speech_ended_at, 0.0) * 1000)
        self._queue.append(TurnFigures("", timing.call_id, self._clock(), timing.endpoint_wait_ms,
                                       timing.final_ms, timing.dialogue_ms, timing.tts_first_ms,
                                       voice))

    def call_ended(self, tenant_id: str) -> None:
        """Check the tenant's usage thresholds, off the loop."""
        if self._store is None:
            return
        task = asyncio.get_running_loop().create_task(self._check(tenant_id))
        self._checks.add(task)
        task.add_done_callback(self._checks.discard)

    async def _check(self, tenant_id: str) -> None:
        assert self._store is not None
        try:
            await asyncio.to_thread(check_alerts, self._store, self._settings, tenant_id,
                                    self._clock())
        except StoreError as exc:
            log.warning("usage alert check for %s failed: %s", tenant_id, exc)

    async def _run(self) -> None:
        purged_at: datetime | None = None
        while not self._stop.is_set():
            now = self._clock()
            if purged_at is None or (now - purged_at).total_seconds() >= LEDGER_PURGE_EVERY_S:
                await self._purge(now)
                purged_at = now
            await self._flush()
            try:
                await asyncio.wait_for(self._stop.wait(), FLUSH_EVERY_S)
            except TimeoutError:
                continue
        await self._flush()

    async def _flush(self) -> None:
        assert self._store is not None
        while self._queue:
            turn = self._queue[0]
            try:
                await asyncio.to_thread(self._store.record_turn, turn)
            except StoreError as exc:
                log.debug("turn figures wait for the store: %s", exc)
                return
            self._queue.popleft()

    async def _purge(self, now: datetime) -> None:
        assert self._store is not None
        u = self._settings.usage
        try:
            removed = await asyncio.to_thread(
                self._store.purge_ledger, (now - timedelta(days=u.retention_days)).date(),
                now - timedelta(days=u.latency_days), now - timedelta(days=u.access_log_days))
        except StoreError as exc:
            log.warning("usage/access-log retention purge failed: %s", exc)
            return
        if any(removed.values()):
            log.info("ledger retention: %s", ", ".join(f"{k} {n}" for k, n in removed.items() if n))

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
        for task in list(self._checks):
            await task
        if self._collector is not None:
            self._collector.close()
