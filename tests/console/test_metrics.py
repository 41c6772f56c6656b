"""/metrics' new series on a real store and registry: per-stage latency histograms from
turn timings, this month's usage per tenant, outbox backlog and dead letters, spool
depth; turn figures written for the console's p50/p95."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from console_helpers import MONTH, START, console_settings, seed
from prometheus_client import generate_latest

from agi.booking import SqliteStore
from agi.booking.spool import Spool
from agi.call.services import TurnTiming
from agi.console.metering import check_alerts, usage_policy
from agi.console.reports import kpis
from agi.console.turns import TurnRecorder
from agi.metrics import Metrics

MID_MONTH = datetime.fromisoformat(f"{MONTH}-15T12:00:00+00:00")


def test_turns_feed_histograms_and_the_store_and_the_scrape_reads_the_store(
        tmp_path: Path) -> None:
    settings = console_settings(tmp_path)
    store = SqliteStore(settings.store.sqlite_path, usage=usage_policy(settings))
    seed(store)
    spool = Spool(tmp_path / "spool.sqlite3")
    metrics = Metrics()
    recorder = TurnRecorder(metrics, settings)

    async def scenario() -> None:
        await recorder.start(store, lambda: spool, None)
        for i, voice_s in enumerate((0.8, 1.0, 1.2, 3.0)):
            recorder.record(TurnTiming("call-demo-1", i + 1, 100.0, 600.0, 80.0, 40.0, 2.0,
                                       120.0, 100.0 + voice_s))
        await recorder.stop()  # flushes what is queued

    asyncio.run(scenario())
    stopped = generate_latest(metrics.registry).decode()
    assert 'permanence_stage_latency_seconds_count{stage="dialogue"} 4.0' in stopped
    assert "permanence_store_metrics_stale 1.0" in stopped  # read after the stop
    recorder = TurnRecorder(metrics := Metrics(), settings)  # a running server's scrape
    metrics.observe_stages(600.0, 80.0, 40.0, 120.0)

    async def scrape() -> str:
        await recorder.start(store, lambda: spool, lambda: MID_MONTH)  # the seeded calls' month
        text = await asyncio.to_thread(generate_latest, metrics.registry)
        await recorder.stop()
        return text.decode()

    text = asyncio.run(scrape())
    assert 'permanence_stage_latency_seconds_count{stage="endpointing"} 1.0' in text
    assert 'permanence_stage_latency_seconds_count{stage="synthesis"} 1.0' in text
    assert 'permanence_month_calls{outcome="booked",tenant="demo"} 1.0' in text
    assert 'permanence_month_billed_minutes{outcome="message",tenant="demo"} 2.0' in text
    assert 'permanence_outbox{status="pending"} 0.0' in text
    assert "permanence_spooled_writes 0.0" in text
    assert 'permanence_month_dialogue_fallbacks{outcome="booked",tenant="demo"} 0.0' in text
    assert "permanence_store_metrics_stale 0.0" in text
    now = datetime.now(UTC)
    figures = kpis(store, {"demo": ZoneInfo("Europe/Paris")}, now - timedelta(days=1), now + timedelta(minutes=1))
    assert (figures.answered, figures.booked, figures.p50_ms) == (2, 1, 1000.0)
    assert figures.p95_ms == 3000.0
    store.close()


def test_a_threshold_notifies_the_business_once_a_month(tmp_path: Path) -> None:
    from dataclasses import replace

    settings = console_settings(tmp_path)
    settings = replace(settings, usage=replace(settings.usage, alert_calls={"demo": "2"},
                                               alert_minutes={"demo": "100"}))
    store = SqliteStore(settings.store.sqlite_path, usage=usage_policy(settings))
    seed(store)  # two calls of demo this month, 4 billed minutes
    assert check_alerts(store, settings, "demo", START) == ["calls"]
    assert check_alerts(store, settings, "demo", START) == []
    alerts = [m for m in store.messages("demo") if m.name == "Permanence"]
    assert len(alerts) == 1 and "2 appels" in alerts[0].text
    store.close()
