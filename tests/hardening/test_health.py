"""``/health`` answers while idle, half-open and flooding clients are connected, and says
``degraded`` naming the store and the backlog when the database refuses writes."""

from __future__ import annotations

import json
import resource
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agi.booking.probe import StoreProbe
from agi.booking.spool import Spool
from agi.booking.sqlite import SqliteStore
from agi.booking.store import CallRecord
from agi.health import HealthServer
from agi.metrics import Metrics

IDLE = 1000


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture
def fds() -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * IDLE + 256  # both ends of every idle connection live in this process
    if hard != resource.RLIM_INFINITY and hard < need:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {need}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_health_answers_with_a_thousand_idle_clients_connected(fds: None) -> None:
    server = HealthServer("127.0.0.1", 0, lambda: {"status": "ok"}, Metrics(),
                          max_connections=64, read_timeout=30.0)
    server.start()
    idle: list[socket.socket] = []
    try:
        for n in range(IDLE):
            client = socket.create_connection(("127.0.0.1", server.port))
            if n % 2:
                client.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # a head never finished
            idle.append(client)
        code, body = get(f"http://127.0.0.1:{server.port}/health")
        assert code == 200 and json.loads(body) == {"status": "ok"}
        code, body = get(f"http://127.0.0.1:{server.port}/metrics")
        assert code == 200
        assert server.open_connections <= server.max_connections
        assert server.evicted >= IDLE - server.max_connections
    finally:
        for client in idle:
            client.close()
        server.stop()


def test_an_idle_client_gets_408_after_the_read_timeout() -> None:
    server = HealthServer("127.0.0.1", 0, lambda: {"status": "ok"}, Metrics(), read_timeout=0.2)
    server.start()
    try:
        with socket.create_connection(("127.0.0.1", server.port)) as client:
            client.settimeout(10)
            client.sendall(b"GET /hea")
            assert client.recv(100).startswith(b"HTTP/1.1 408 ")
        with socket.create_connection(("127.0.0.1", server.port)) as client:
            client.settimeout(10)
            client.sendall(b"GET /" + b"x" * 9000 + b" HTTP/1.1\r\n\r\n")
            assert client.recv(100).startswith(b"HTTP/1.1 431 ")
    finally:
        server.stop()


def test_degraded_names_the_store_and_the_backlog(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "permanence.db")
    spool = Spool(tmp_path / "spool.db")
    probe = StoreProbe(store, spool, "sqlite")
    probe.probe()
    assert probe.problems() == []
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    spool.append("start_call", (CallRecord("c1", "demo", "", now),), key="c1")
    (problem,) = probe.problems()
    assert "database (sqlite) not accepting writes: 1 write(s) waiting in the spool" in problem
    store.close()  # the database is gone: the probe says so
    probe.probe()
    assert any(p.startswith("database (sqlite) unreachable or refusing writes:") for p in probe.problems())
    spool.replay(SqliteStore(tmp_path / "permanence.db"))
    assert spool.pending() == 0
