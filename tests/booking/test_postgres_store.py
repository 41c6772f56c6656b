"""What only the PostgreSQL store has (the shared contract is in test_store.py): the
no-overlap guarantee held by the table itself, schemas side by side in one database, a
server that goes away and comes back, and its settings."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest
from psycopg import sql

from agi.booking import Appointment, NewAppointment
from agi.booking.migrate import migrate
from agi.booking.postgres import PostgresStore
from agi.config import settings_from_dict
from agi.errors import ConfigError, SlotTaken, StoreError

if TYPE_CHECKING:
    from pg_server import PgServer

T0 = datetime(2026, 3, 12, 13, 30, tzinfo=UTC)
TENANTS = [{"id": "demo", "services": [{"name": "consultation", "duration_min": 30}]}]


def appt(start: datetime, resource: str = "A", name: str = "Alice") -> NewAppointment:
    return NewAppointment("demo", resource, "consultation", start, start + timedelta(minutes=30),
                          name, "+33612345678")


@pytest.fixture
def pg(postgres_dsn: str, pg_schema: str) -> Iterator[PostgresStore]:
    store = PostgresStore(postgres_dsn, pg_schema)
    yield store
    store.close()


def test_overlaps_are_refused_by_the_table_itself(pg: PostgresStore, postgres_dsn: str) -> None:
    # Another program writing to the business's database cannot double-book either.
    first = pg.book(appt(T0))
    insert = sql.SQL("INSERT INTO {} (tenant_id, resource, service, starts_at, ends_at, "
                     "customer_name, customer_phone) VALUES ('demo', 'A', 'x', %s, %s, 'B', '')"
                     ).format(sql.Identifier(pg.schema, "appointments"))
    with psycopg.connect(postgres_dsn) as conn, pytest.raises(psycopg.errors.ExclusionViolation):
        conn.execute(insert, (T0 + timedelta(minutes=29), T0 + timedelta(hours=1)))
    with psycopg.connect(postgres_dsn) as conn:  # back to back is fine ('[)' ranges)
        conn.execute(insert, (T0 + timedelta(minutes=30), T0 + timedelta(hours=1)))
    with pytest.raises(SlotTaken) as info:
        pg.book(appt(T0 + timedelta(minutes=45)))
    assert info.value.conflict is not None and info.value.conflict.customer_name == "B"
    assert isinstance(info.value.__cause__, psycopg.errors.ExclusionViolation)
    pg.cancel(first.id)
    assert pg.book(appt(T0, name="Carol")).customer_name == "Carol"


def test_two_schemas_in_one_database_are_independent(pg: PostgresStore, postgres_dsn: str) -> None:
    other_schema = pg.schema + "_other"
    migrate(postgres_dsn, other_schema)
    other = PostgresStore(postgres_dsn, other_schema)
    try:
        pg.book(appt(T0))
        other.book(appt(T0))  # the same slot, another business's schema
        assert len(other.appointments("demo", T0, T0 + timedelta(hours=1))) == 1
    finally:
        other.close()
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(other_schema)))
    # Dropping the other schema took nothing of ours with it (btree_gist lives in public).
    with pytest.raises(SlotTaken):
        pg.book(appt(T0))


def test_a_restarted_server_is_a_store_error_then_works_again(
        pg_server: PgServer | None, postgres_dsn: str, pg_schema: str) -> None:
    if pg_server is None:
        pytest.skip("needs the tests' own server: it stops and starts it")
    store = PostgresStore(postgres_dsn, pg_schema, timeout=1.0)
    try:
        store.book(appt(T0))
        pg_server.stop()
        try:
            with pytest.raises(StoreError) as info:
                store.book(appt(T0 + timedelta(hours=1)))
            assert isinstance(info.value.__cause__, psycopg.OperationalError)
        finally:
            pg_server.start()
        # The pooled connection died with the server; the pool reconnects by itself (with
        # its back-off of 1 s, 2 s, 4 s... between attempts, hence the patience here).
        later = eventually(lambda: store.book(appt(T0 + timedelta(hours=1), name="Bob")))
        assert [a.id for a in store.appointments("demo", T0, T0 + timedelta(hours=2))][-1] == later.id
    finally:
        store.close()


def eventually(action: Callable[[], Appointment], patience_s: float = 60.0) -> Appointment:
    """``action()`` once it stops raising :class:`StoreError` (bounded, so a store that
    never recovers fails the test instead of hanging it)."""
    deadline = time.monotonic() + patience_s
    while True:
        try:
            return action()
        except StoreError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_no_server_at_open_is_a_store_error(tmp_path: Path) -> None:
    nowhere = f"host={tmp_path} port=1 user=postgres dbname=postgres"
    with pytest.raises(StoreError, match="cannot open the PostgreSQL store") as info:
        PostgresStore(nowhere, timeout=0.5)
    assert isinstance(info.value.__cause__, psycopg.OperationalError)


def test_store_settings_schema_and_pool_sizes() -> None:
    def store_settings(**values: object) -> object:
        raw = {"store": {"backend": "postgres", "postgres_dsn": "dbname=x", **values},
               "tenants": TENANTS}
        return settings_from_dict(raw).store

    st = store_settings()
    assert (st.postgres_schema, st.postgres_pool_min, st.postgres_pool_max) == ("permanence", 1, 10)  # type: ignore[attr-defined]
    env = {"PERMANENCE_STORE_POSTGRES_SCHEMA": "cabinet", "PERMANENCE_STORE_POSTGRES_POOL_MAX": "4"}
    st = settings_from_dict({"store": {"backend": "postgres", "postgres_dsn": "dbname=x"},
                             "tenants": TENANTS}, env).store
    assert (st.postgres_schema, st.postgres_pool_max) == ("cabinet", 4)
    with pytest.raises(ConfigError, match="store.postgres_schema"):
        store_settings(postgres_schema="pg_catalog")
    with pytest.raises(ConfigError, match="store.postgres_pool_min"):
        store_settings(postgres_pool_min=5, postgres_pool_max=2)
