"""/health answers from the probe's snapshot: a register query that hangs, or a Rasa that
is down, shows up as a named problem over real HTTP, and never delays the answer.

The hang is a probe step blocked on a threading.Event: a database that hangs mid-query
(rather than refusing, which tests/hardening/test_health_postgres.py covers with a real
PostgreSQL stopped) cannot be made reliably here, and what is under test is that nothing
on the health path waits for the probe. Rasa is really down: a closed port.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from agi.booking.probe import StoreProbe
from agi.booking.sqlite import SqliteStore
from agi.config import DialogueSettings
from agi.dialogue.builtin import BuiltinEngine
from agi.dialogue.rasa import RasaEngine
from agi.health import HealthServer
from agi.metrics import Metrics

NLU = Path(__file__).resolve().parents[2] / "nlu"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed on exit: connections are refused


def health(port: int) -> dict[str, Any]:
    """The JSON of /health, with its HTTP code (503 when degraded)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as reply:
            return {**json.loads(reply.read()), "code": reply.status}
    except urllib.error.HTTPError as exc:
        return {**json.loads(exc.read()), "code": exc.code}


def serve(probe: StoreProbe) -> HealthServer:
    def status() -> dict[str, Any]:
        problems = probe.problems()
        return {"status": "degraded" if problems else "ok", "problems": problems,
                "probe_age_s": probe.age()}
    server = HealthServer("127.0.0.1", 0, status, Metrics())
    server.start()
    return server


def test_a_probe_stuck_in_the_register_is_named_and_health_still_answers(tmp_path: Path) -> None:
    release = threading.Event()
    calls = 0

    def register() -> dict[str, int]:
        nonlocal calls
        calls += 1
        if calls > 1:  # the first probe answers; the second hangs until released
            release.wait(30)
        return {"privacy_open": 0}

    probe = StoreProbe(SqliteStore(tmp_path / "p.db"), None, "sqlite", privacy=register,
                       stale_after=0.3)
    probe.probe()
    server = serve(probe)
    worker = threading.Thread(target=probe.probe)
    try:
        assert health(server.port)["status"] == "ok"
        worker.start()
        deadline = time.monotonic() + 10
        while not probe.stuck() and time.monotonic() < deadline:
            time.sleep(0.05)
        answer = health(server.port)  # answered while the probe is still hung
        assert worker.is_alive()
        assert answer["status"] == "degraded" and answer["code"] == 503
        assert any("health probe stuck on database (sqlite) privacy register" in p
                   for p in answer["problems"])
    finally:
        release.set()
        worker.join(30)
        server.stop()
    assert health_after(probe) == []


def health_after(probe: StoreProbe) -> list[str]:
    probe.probe()
    return probe.problems()


def test_rasa_down_is_named_in_health(tmp_path: Path) -> None:
    engine = RasaEngine(DialogueSettings(backend="rasa", rasa_urls={"fr": f"http://127.0.0.1:{closed_port()}"},
                                         rasa_timeout_s=0.3), BuiltinEngine(NLU, ("fr",)))
    probe = StoreProbe(SqliteStore(tmp_path / "p.db"), None, "sqlite", rasa=engine.reachability)
    probe.probe()
    server = serve(probe)
    try:
        answer = health(server.port)
    finally:
        server.stop()
    assert answer["status"] == "degraded" and answer["code"] == 503
    assert answer["problems"] == ["Rasa (fr) unreachable: calls use the builtin dialogue"]
    assert answer["probe_age_s"] is not None
