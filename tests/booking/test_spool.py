"""The local spool against a real PostgreSQL that is stopped and started again."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pg_server import PgServer

from agi.booking.postgres import PostgresStore
from agi.booking.spool import Spool
from agi.booking.store import CallRecord, NewAppointment
from agi.errors import StoreError

PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2027, 3, 12, 14, 30, tzinfo=PARIS)
NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def request(call_id: str, start: datetime, name: str) -> NewAppointment:
    return NewAppointment(tenant_id="demo", resource="A", service="consultation", starts_at=start,
                          ends_at=start + timedelta(minutes=30), customer_name=name,
                          customer_phone="+33612345678", call_id=call_id)


@pytest.fixture
def pg(pg_server: PgServer | None, postgres_dsn: str, pg_schema: str) -> Iterator[tuple[PgServer, PostgresStore]]:
    if pg_server is None:
        pytest.skip("needs the tests' own server: it stops and starts it")
    store = PostgresStore(postgres_dsn, pg_schema, timeout=1.0)
    try:
        yield pg_server, store
    finally:
        pg_server.start()  # back up for the next test, whatever happened (no-op if running)
        store.close()


def replay_until_empty(spool: Spool, store: PostgresStore, patience_s: float = 60.0) -> None:
    """The pool reconnects with its own back-off: replay until the journal is empty."""
    deadline = time.monotonic() + patience_s
    while spool.pending():
        spool.replay(store)
        if spool.pending():
            assert time.monotonic() < deadline, "the database never took the spooled writes"
            time.sleep(0.3)


def test_a_call_made_while_postgres_is_down_is_written_in_order_when_it_is_back(
        pg: tuple[PgServer, PostgresStore], tmp_path: Path) -> None:
    server, store = pg
    spool = Spool(tmp_path / "spool.sqlite3")
    store.start_call(CallRecord("before", "demo", "", NOW))  # the database works...
    server.stop()  # ...then goes away in the middle of a call
    spool.write(store, "start_call", CallRecord("c1", "demo", "", NOW), key="c1")
    spool.write(store, "set_caller", "c1", "+33612345678", key="c1")
    spool.write(store, "add_turn", "c1", "caller", "je voudrais un rendez-vous", NOW, key="c1")
    spool.write(store, "book", request("c1", T0, "Jean Dupont"), key="c1")
    spool.write(store, "end_call", "c1", NOW + timedelta(minutes=2), "pending",
                {"name": "Jean Dupont", "date": "2027-03-12"}, key="c1")
    assert spool.pending() == 5
    assert spool.replay(store) == 0  # still down: nothing leaves the journal
    server.start()
    replay_until_empty(spool, store)
    record = store.get_call("c1")
    assert record is not None and record.caller == "+33612345678" and record.outcome == "pending"
    assert record.data["name"] == "Jean Dupont"
    assert [t.text for t in store.transcript("c1")] == ["je voudrais un rendez-vous"]
    booked = store.appointments("demo", T0, T0 + timedelta(hours=1))
    assert [(a.starts_at, a.call_id) for a in booked] == [(T0, "c1")]
    assert spool.refused() == []


def test_a_slot_taken_meanwhile_becomes_a_lead_and_a_refused_write_is_kept(
        pg: tuple[PgServer, PostgresStore], tmp_path: Path) -> None:
    server, store = pg
    spool = Spool(tmp_path / "spool.sqlite3")
    store.start_call(CallRecord("c2", "demo", "", NOW))
    store.start_call(CallRecord("other", "demo", "", NOW))
    server.stop()
    spool.write(store, "book", request("c2", T0, "Marie Curie"), key="c2")
    spool.write(store, "add_turn", "ghost", "caller", "hello", NOW, key="ghost")  # no such call
    server.start()
    # someone else takes the slot before the spool gets through
    deadline = time.monotonic() + 60
    while True:
        try:
            store.book(request("other", T0, "Someone Else"))
            break
        except StoreError:
            assert time.monotonic() < deadline
            time.sleep(0.3)
    replay_until_empty(spool, store)
    leads = store.leads("demo")
    assert [(lead.call_id, lead.kind, lead.details["name"]) for lead in leads] == [
        ("c2", "booking_request", "Marie Curie")]
    refused = spool.refused()
    assert [(r["key"], r["method"]) for r in refused] == [("ghost", "add_turn")]


def test_only_writes_can_be_spooled(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite3")
    with pytest.raises(ValueError, match="appointments cannot be spooled"):
        spool.append("appointments", (), key="c")
