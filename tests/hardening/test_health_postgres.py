"""The health probe tells the truth about a real PostgreSQL (the tests' own throwaway
server): ``ok`` while it answers, ``degraded`` naming it while it is stopped, ``ok`` again
once it is back."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from agi.booking.postgres import PostgresStore
from agi.booking.probe import StoreProbe
from agi.booking.spool import Spool

# The pool reconnects with a back-off (1 s, 2 s, 4 s...): how long the probe may take to see
# the server again.
PATIENCE_S = 60.0


def test_postgres_stopped_is_degraded_naming_it_and_back_is_ok(
        pg_server, postgres_dsn: str, pg_schema: str, tmp_path: Path) -> None:
    if pg_server is None:
        pytest.skip("needs the tests' own PostgreSQL: it stops and starts it")
    store = PostgresStore(postgres_dsn, pg_schema, timeout=1.0)
    probe = StoreProbe(store, Spool(tmp_path / "spool.db"), "postgres")
    try:
        probe.probe()
        assert probe.problems() == []
        pg_server.stop()
        try:
            probe.probe()
            (problem,) = probe.problems()
            assert problem.startswith("database (postgres) unreachable or refusing writes:")
        finally:
            pg_server.start()
        deadline = time.monotonic() + PATIENCE_S
        while probe.probe().store_error and time.monotonic() < deadline:
            time.sleep(0.5)
        assert probe.problems() == []
    finally:
        store.close()
