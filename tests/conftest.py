"""Store fixtures shared by tests/booking and tests/notify: every store test runs on SQLite
and on a real PostgreSQL server.

PostgreSQL comes from ``PERMANENCE_TEST_POSTGRES_DSN`` when set (a server someone runs for
the tests; each test works in its own schema, dropped afterwards), otherwise from a
throwaway server started once per session by :mod:`pg_server` and removed at the end.
Without server binaries the PostgreSQL half is skipped when we are not root; as root (CI,
after ``make`` installed Debian's postgresql) a missing server is a failure, not a skip.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agi.booking import SqliteStore, Store

sys.path.insert(0, str(Path(__file__).parent))  # pg_server sits beside this file

from pg_server import PgServer, ServerUnavailable  # noqa: E402 - needs the path above

DSN_ENV = "PERMANENCE_TEST_POSTGRES_DSN"
BACKENDS = ("sqlite", "postgres")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer | None]:
    """The throwaway server, or ``None`` when the environment names one."""
    if os.environ.get(DSN_ENV):
        yield None
        return
    try:
        server = PgServer()
    except ServerUnavailable as exc:
        if os.geteuid() == 0:
            pytest.fail(f"PostgreSQL tests cannot run: {exc}")
        pytest.skip(f"PostgreSQL tests skipped: {exc} (or set {DSN_ENV})")
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def postgres_dsn(pg_server: PgServer | None) -> str:
    return os.environ.get(DSN_ENV) or (pg_server.dsn if pg_server else "")


@pytest.fixture
def pg_schema(postgres_dsn: str) -> Iterator[str]:
    """A fresh, migrated schema name, dropped after the test."""
    from psycopg import sql

    from agi.booking.migrate import migrate

    schema = f"test_{uuid.uuid4().hex[:12]}"
    migrate(postgres_dsn, schema)
    yield schema
    import psycopg

    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@dataclass
class StoreFactory:
    """Opens stores on one database: each call is a new store object (a new process, as
    far as the database can tell); keyword arguments go to the store's constructor
    (``targets_for``). Everything opened is closed after the test."""

    backend: str
    open: Callable[..., Store]
    integrity_error: type[Exception]  # what a duplicate key raises in the driver
    opened: list[Store] = field(default_factory=list)

    def __call__(self, **kwargs: Any) -> Store:
        store = self.open(**kwargs)
        self.opened.append(store)
        return store


@pytest.fixture(params=BACKENDS)
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    if request.param == "sqlite":
        path = tmp_path / "permanence.sqlite3"
        factory = StoreFactory("sqlite", lambda **kw: SqliteStore(path, **kw), sqlite3.IntegrityError)
    else:
        import psycopg

        from agi.booking.postgres import PostgresStore

        dsn = request.getfixturevalue("postgres_dsn")
        schema = request.getfixturevalue("pg_schema")
        factory = StoreFactory("postgres", lambda **kw: PostgresStore(dsn, schema, **kw),
                               psycopg.IntegrityError)
    yield factory
    for store in factory.opened:
        store.close()


@pytest.fixture
def store(make_store: StoreFactory) -> Store:
    return make_store()
