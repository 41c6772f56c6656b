"""The server around the calls: /health and /metrics, reload of nlu/, draining on stop."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from agi.booking.sqlite import SqliteStore
from agi.pbx.emulator import CallerTurn, emulate_call, speak
from agi.server import PermanenceServer

from conftest import ScriptedRecognizerFactory, Shared, make_settings, run


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_health_metrics_reload_and_draining_stop(tmp_path: Path, shared: Shared) -> None:
    settings = make_settings(tmp_path)

    async def scenario():
        server = PermanenceServer(settings, store=SqliteStore(settings.store.sqlite_path),
                                  dialogue=shared.engine, synthesizer=shared.synthesizer,
                                  recognizers=ScriptedRecognizerFactory(["au revoir"]))
        await server.start()
        base = f"http://127.0.0.1:{server.health_port}"
        health = await asyncio.to_thread(get, base + "/health")
        # a call is in progress when the stop comes: it is allowed to finish
        call = asyncio.create_task(emulate_call(
            "127.0.0.1", server.agi_port, path="demo",
            turns=[CallerTurn(speak("au revoir", voice="fr"))], max_duration=60))
        while not server.services.active_calls:
            await asyncio.sleep(0.05)
        await server.stop(grace=60)
        metrics = server.metrics
        return health, await call, metrics, server

    (code, body), call, metrics, server = run(scenario())
    assert code == 200
    status = json.loads(body)
    assert status["status"] == "ok" and status["tenants"] == ["demo", "demo-en", "demo-dentaire", "demo-physio"]
    assert call.hung_up_by == "agent"  # the goodbye was said, the call was not cut
    record = SqliteStore(settings.store.sqlite_path).get_call(call.uniqueid)
    assert record.ended_at is not None
    sample = metrics.registry.get_sample_value("permanence_calls_total",
                                               {"tenant": "demo", "outcome": record.outcome})
    assert sample == 1.0


def test_health_says_degraded_and_metrics_are_served(tmp_path: Path, shared: Shared) -> None:
    empty = tmp_path / "no-model"
    empty.mkdir()
    settings = make_settings(tmp_path, speech={"model_path": str(empty)})

    async def scenario():
        server = PermanenceServer(settings, store=SqliteStore(settings.store.sqlite_path),
                                  dialogue=shared.engine, synthesizer=shared.synthesizer)
        await server.start()
        try:
            base = f"http://127.0.0.1:{server.health_port}"
            return (await asyncio.to_thread(get, base + "/health"),
                    await asyncio.to_thread(get, base + "/metrics"),
                    await asyncio.to_thread(get, base + "/nope"))
        finally:
            await server.stop()

    (code, body), (mcode, metrics), (ncode, _) = run(scenario())
    assert code == 503 and json.loads(body)["status"] == "degraded"
    assert "speech.model_path" in json.loads(body)["problems"][0]
    assert mcode == 200 and "permanence_active_calls" in metrics
    assert "permanence_event_loop_stalls_total" in metrics  # the server's own stall monitor
    assert ncode == 404


def test_reload_swaps_the_dialogue_and_refuses_a_broken_project(tmp_path: Path, shared: Shared) -> None:
    import shutil

    project = tmp_path / "nlu"
    shutil.copytree(Path(__file__).resolve().parents[2] / "nlu", project)
    settings = make_settings(tmp_path, dialogue={"nlu_path": str(project)})

    async def scenario():
        server = PermanenceServer(settings, store=SqliteStore(settings.store.sqlite_path),
                                  dialogue=shared.engine, synthesizer=shared.synthesizer,
                                  recognizers=ScriptedRecognizerFactory(), health=False)
        await server.start()
        try:
            before = server.services.dialogue
            await server.reload_dialogue()
            reloaded = server.services.dialogue
            (project / "fr" / "domain.yml").write_text("intents: [\n")
            await server.reload_dialogue()
            return before, reloaded, server.services.dialogue
        finally:
            await server.stop()

    before, reloaded, after_broken = run(scenario())
    assert reloaded is not before
    assert after_broken is reloaded


def test_a_language_without_model_is_handed_over_while_the_other_is_served(tmp_path: Path, shared: Shared) -> None:
    from agi.speech.asr import korean_test_model_path

    empty = tmp_path / "no-model"
    empty.mkdir()
    # "fr" gets the real (Korean) model, "en" a directory without one
    settings = make_settings(tmp_path, speech={"models": {"fr": korean_test_model_path(), "en": str(empty)}})

    async def scenario():
        # a Monday morning: staff take transfers, so the technical hand-over may be a transfer
        monday = datetime(2026, 11, 30, 10, 0, tzinfo=ZoneInfo("Europe/London"))
        server = PermanenceServer(settings, store=SqliteStore(settings.store.sqlite_path),
                                  dialogue=shared.engine, synthesizer=shared.synthesizer, health=False,
                                  clock=lambda: monday)
        await server.start()
        try:
            en = await emulate_call("127.0.0.1", server.agi_port, path="demo-en", max_duration=60)
            fr = await emulate_call("127.0.0.1", server.agi_port, path="demo", hangup_after=0,
                                    max_duration=60)
            return en, fr, server.status()
        finally:
            await server.stop()

    en, fr, status = run(scenario())
    store = SqliteStore(settings.store.sqlite_path)
    assert en.variables["PERMANENCE_OUTCOME"] == "error" and en.variables["PERMANENCE_RESULT"] == "transfer"
    assert store.get_call(fr.uniqueid).outcome == "hangup_during_disclosure"
    assert status["status"] == "degraded" and "'en'" in status["problems"][0]
