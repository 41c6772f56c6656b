"""The store contract, run on both stores: SQLite on real files (tmp_path, never :memory:,
so threads behave as in production) and a real PostgreSQL server (see conftest.py). Call
records, transcripts, the atomic overlap check with 50 racing threads, error mapping; then
the SQLite-only file handling (schema version, WAL, unusable paths)."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest

from agi.booking import Appointment, CallRecord, NewAppointment, SqliteStore, Store
from agi.booking.sqlite import SCHEMA_VERSION
from agi.errors import SlotTaken, StoreError

if TYPE_CHECKING:
    from conftest import StoreFactory  # the fixture's type (tests/conftest.py)

PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2026, 3, 12, 14, 30, tzinfo=PARIS)


def call(call_id: str = "c1", tenant: str = "demo", **kw: object) -> CallRecord:
    return CallRecord(call_id=call_id, tenant_id=tenant, caller="+33612345678",
                      started_at=kw.pop("started_at", T0), **kw)  # type: ignore[arg-type]


def appt(start: datetime, minutes: int = 30, resource: str = "A", tenant: str = "demo",
         name: str = "Alice", phone: str = "+33612345678", call_id: str = "") -> NewAppointment:
    return NewAppointment(tenant_id=tenant, resource=resource, service="consultation",
                          starts_at=start, ends_at=start + timedelta(minutes=minutes),
                          customer_name=name, customer_phone=phone, call_id=call_id)


# calls ----------------------------------------------------------------------------------
def test_call_lifecycle_with_transcript(store: Store) -> None:
    store.start_call(call(language="en", channel="PJSIP/100-0001"))
    turns = [store.add_turn("c1", "agent", "You are talking to an automated assistant.", T0),
             store.add_turn("c1", "caller", "I'd like an appointment",
                            T0 + timedelta(seconds=5)),
             store.add_turn("c1", "agent", "What is your name?", T0 + timedelta(seconds=6))]
    assert [t.seq for t in turns] == [1, 2, 3]
    store.update_call_data("c1", {"name": "Alice", "date": datetime(2026, 3, 13, 9, tzinfo=UTC)})
    store.end_call("c1", T0 + timedelta(minutes=2), "booked")

    got = store.get_call("c1")
    assert got is not None
    assert got.outcome == "booked" and got.language == "en" and got.channel == "PJSIP/100-0001"
    assert got.data == {"name": "Alice", "date": "2026-03-13T09:00:00+00:00"}
    assert got.started_at == T0 and got.started_at.tzinfo == UTC
    assert got.ended_at == T0 + timedelta(minutes=2)
    assert [(t.seq, t.speaker, t.text) for t in store.transcript("c1")] == [
        (t.seq, t.speaker, t.text) for t in turns]
    assert all(t.at.tzinfo == UTC for t in store.transcript("c1"))


def test_call_ending_early_keeps_record_and_partial_data(store: Store) -> None:
    store.start_call(call("early"))
    store.update_call_data("early", {"name": "Bob"})
    store.end_call("early", T0 + timedelta(seconds=3), "hangup")  # data=None: keep it
    got = store.get_call("early")
    assert got is not None
    assert (got.outcome, got.data, got.ended_at) == ("hangup", {"name": "Bob"},
                                                     T0 + timedelta(seconds=3))


def test_caller_number_attached_after_the_notice(store: Store) -> None:
    # The session opens the record before the privacy notice, without the number.
    store.start_call(CallRecord(call_id="c1", tenant_id="demo", caller="", started_at=T0))
    got = store.get_call("c1")
    assert got is not None and got.caller == ""
    store.set_caller("c1", "+33612345678")
    got = store.get_call("c1")
    assert got is not None and got.caller == "+33612345678"


def test_call_without_any_turn_is_recorded(store: Store) -> None:
    store.start_call(call("silent"))
    store.end_call("silent", T0 + timedelta(seconds=1), "hangup", data={"step": "disclosure"})
    got = store.get_call("silent")
    assert got is not None and got.data == {"step": "disclosure"}
    assert store.transcript("silent") == []


def test_list_calls_most_recent_first_and_by_tenant(store: Store) -> None:
    for i in range(3):
        store.start_call(call(f"c{i}", started_at=T0 + timedelta(minutes=i)))
    store.start_call(call("other", tenant="garage"))
    assert [c.call_id for c in store.list_calls("demo")] == ["c2", "c1", "c0"]
    assert [c.call_id for c in store.list_calls(limit=2)] == ["c2", "c1"]
    assert [c.call_id for c in store.list_calls("garage")] == ["other"]


def test_open_calls_by_the_controller_that_started_them(make_store: StoreFactory) -> None:
    a, b = make_store(owner="voice-a"), make_store(owner="voice-b")  # two controllers
    a.start_call(call("a2", started_at=T0 + timedelta(minutes=2)))
    a.start_call(call("a1", started_at=T0 + timedelta(minutes=1)))
    a.start_call(call("a0", started_at=T0))
    a.end_call("a0", T0 + timedelta(minutes=3), "booked")
    b.start_call(call("b1", started_at=T0))
    assert a.open_call_ids("voice-a") == ["a1", "a2"]  # open ones only, oldest first
    assert b.open_call_ids("voice-b") == ["b1"] and b.open_call_ids("voice-c") == []
    assert a.open_call_ids() == ["b1", "a1", "a2"]  # every owner's
    assert a.open_call_ids("voice-a", limit=1) == ["a1"]


def test_naive_datetimes_are_rejected(store: Store) -> None:
    naive = datetime(2026, 3, 12, 14, 30)
    with pytest.raises(ValueError, match="naive"):
        store.start_call(call(started_at=naive))
    store.start_call(call())
    with pytest.raises(ValueError, match="naive"):
        store.add_turn("c1", "caller", "hello", naive)
    with pytest.raises(ValueError, match="naive"):
        store.book(appt(naive))
    with pytest.raises(ValueError, match="naive"):
        store.appointments("demo", naive, naive + timedelta(hours=1))


def test_bad_speaker_and_unknown_call(store: Store) -> None:
    store.start_call(call())
    with pytest.raises(ValueError, match="speaker"):
        store.add_turn("c1", "robot", "beep", T0)  # type: ignore[arg-type]
    for action in (lambda: store.add_turn("nope", "caller", "hi", T0),
                   lambda: store.update_call_data("nope", {}),
                   lambda: store.set_caller("nope", "+33612345678"),
                   lambda: store.book(appt(T0, call_id="nope")),
                   lambda: store.end_call("nope", T0, "hangup")):
        with pytest.raises(StoreError, match="no call 'nope'"):
            action()
    assert store.get_call("nope") is None


def test_duplicate_call_id_maps_integrity_error(make_store: StoreFactory) -> None:
    store = make_store()
    store.start_call(call())
    with pytest.raises(StoreError) as info:
        store.start_call(call())
    assert isinstance(info.value.__cause__, make_store.integrity_error)


def test_unserialisable_call_data_is_a_store_error(store: Store) -> None:
    store.start_call(call())
    with pytest.raises(StoreError, match="JSON"):
        store.update_call_data("c1", {"thing": object()})
    got = store.get_call("c1")
    assert got is not None and got.data == {}


def test_turn_numbers_stay_unique_under_concurrent_writers(store: Store) -> None:
    store.start_call(call())
    barrier = threading.Barrier(8)

    def speak(n: int) -> None:
        barrier.wait()
        for i in range(15):
            store.add_turn("c1", "caller", f"{n}-{i}", T0)

    threads = [threading.Thread(target=speak, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [t.seq for t in store.transcript("c1")] == list(range(1, 121))


# appointments -----------------------------------------------------------------------------
def test_overlap_on_same_resource_is_refused_with_the_conflict(store: Store) -> None:
    first = store.book(appt(T0))
    assert isinstance(first, Appointment) and first.status == "booked"
    assert first.starts_at == T0 and first.starts_at.tzinfo == UTC
    with pytest.raises(SlotTaken) as info:
        store.book(appt(T0 + timedelta(minutes=15), name="Bob"))
    assert info.value.conflict == first
    assert str(first.id) in str(info.value)


def test_adjacent_other_resource_other_tenant_are_allowed(store: Store) -> None:
    store.book(appt(T0))
    store.book(appt(T0 + timedelta(minutes=30)))  # starts when the first ends
    store.book(appt(T0 - timedelta(minutes=30)))  # ends when the first starts
    store.book(appt(T0, resource="B"))
    store.book(appt(T0, tenant="garage"))
    assert len(store.appointments("demo", T0 - timedelta(hours=1), T0 + timedelta(hours=1))) == 4


def test_cancelled_appointment_frees_the_slot(store: Store) -> None:
    first = store.book(appt(T0))
    cancelled = store.cancel(first.id)
    assert cancelled.status == "cancelled"
    assert store.cancel(first.id).status == "cancelled"  # idempotent
    second = store.book(appt(T0, name="Bob"))
    assert [a.id for a in store.appointments("demo", T0, T0 + timedelta(minutes=1))] == [second.id]
    with pytest.raises(StoreError, match="no appointment 9999"):
        store.cancel(9999)


def test_appointments_window_is_half_open_and_filters_resource(store: Store) -> None:
    a = store.book(appt(T0))
    b = store.book(appt(T0, resource="B"))
    end = T0 + timedelta(minutes=30)
    assert store.appointments("demo", end, end + timedelta(hours=1)) == []
    assert store.appointments("demo", T0 - timedelta(hours=1), T0) == []
    assert [x.id for x in store.appointments("demo", T0, end)] == [a.id, b.id]
    assert [x.id for x in store.appointments("demo", T0, end, resource="B")] == [b.id]


def test_ends_before_start_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="ends"):
        store.book(appt(T0, minutes=0))


def test_appointments_for_caller_and_call_link(store: Store) -> None:
    store.start_call(call("c1"))
    later = store.book(appt(T0 + timedelta(days=1), call_id="c1"))
    sooner = store.book(appt(T0, resource="B"))
    store.book(appt(T0, phone="+33700000000", resource="C"))
    gone = store.book(appt(T0 + timedelta(days=2)))
    store.cancel(gone.id)
    mine = store.appointments_for_caller("demo", "+33612345678")
    assert [a.id for a in mine] == [sooner.id, later.id]
    assert mine[1].call_id == "c1" and mine[0].call_id == ""


def test_fifty_threads_racing_for_one_slot_exactly_one_wins(make_store: StoreFactory) -> None:
    # Two store objects on one database stand for two processes (serve + the db CLI): the
    # guarantee must come from the database (SQLite's write lock, PostgreSQL's exclusion
    # constraint), not from Python state shared in one object.
    # 50 threads share 2 x 10 pooled connections: a generous pool wait, since a loaded CI
    # machine must not turn queueing into a failure (what is tested is the overlap rule)
    patient = {"timeout": 120.0} if make_store.backend == "postgres" else {}
    stores = [make_store(**patient), make_store(**patient)]
    barrier = threading.Barrier(50)
    won: list[Appointment] = []
    lost: list[SlotTaken] = []
    guard = threading.Lock()

    def race(n: int) -> None:
        barrier.wait()
        try:
            result = stores[n % 2].book(appt(T0 + timedelta(minutes=n % 3), name=f"caller {n}"))
        except SlotTaken as exc:
            with guard:
                lost.append(exc)
        else:
            with guard:
                won.append(result)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Any other error would leave a thread without a result: 1 + 49 means none did.
    assert len(won) == 1 and len(lost) == 49
    assert all(exc.conflict == won[0] for exc in lost)
    booked = stores[0].appointments("demo", T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert booked == won


# messages ----------------------------------------------------------------------------------
def test_messages_round_trip(store: Store) -> None:
    store.start_call(call())
    m1 = store.add_message("demo", "c1", "+33612345678", "Alice", "Please call me back", T0)
    m2 = store.add_message("demo", "", "", "", "No call attached", T0 + timedelta(minutes=1))
    store.add_message("garage", "", "", "", "elsewhere", T0)
    got = store.messages("demo")
    assert got == [m1, m2]
    assert got[0].call_id == "c1" and got[1].call_id == ""
    assert got[0].created_at == T0 and got[0].created_at.tzinfo == UTC


# SQLite only: the file, its schema version and unusable paths -------------------------------------------------------------------------------
def test_open_creates_directory_wal_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "var" / "lib" / "db.sqlite3"
    SqliteStore(path).close()
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"calls", "turns", "appointments", "messages"} <= tables
    finally:
        raw.close()


def test_reopen_keeps_data(make_store: StoreFactory) -> None:
    first = make_store()
    first.start_call(call())
    first.close()
    got = make_store().get_call("c1")
    assert got is not None and got.started_at == T0


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()
    with pytest.raises(StoreError, match="newer than this Permanence"):
        SqliteStore(path)


def test_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.sqlite3"
    path.write_bytes(b"this is not a database file at all" * 100)
    with pytest.raises(StoreError) as info:
        SqliteStore(path)
    assert isinstance(info.value.__cause__, sqlite3.DatabaseError)


def test_unusable_paths_are_store_errors(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    with pytest.raises(StoreError, match="cannot create the directory"):
        SqliteStore(tmp_path / "a-file" / "db.sqlite3")
    with pytest.raises(StoreError, match="unable to open"):
        SqliteStore(tmp_path)  # a directory, not a database file


def test_closed_store_refuses_work(make_store: StoreFactory) -> None:
    s = make_store()
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.get_call("c1")


def test_close_waits_for_a_write_another_thread_is_running(tmp_path: Path) -> None:
    """The server closes the store on stop while a call's last write may still run in a
    worker thread: that write ends first (closing a connection in use can crash Python)."""
    path = tmp_path / "db.sqlite3"
    store = SqliteStore(path)
    store.start_call(call())
    holder = sqlite3.connect(path, isolation_level=None)  # another process's write lock
    holder.execute("BEGIN IMMEDIATE")
    finished: list[str] = []

    def last_write() -> None:  # waits on the lock (busy timeout), inside an operation
        store.end_call("c1", T0 + timedelta(minutes=3), "hangup", None)
        finished.append("write")

    worker = threading.Thread(target=last_write)
    worker.start()
    closer = threading.Thread(target=lambda: (store.close(), finished.append("close")))
    while not store._busy:  # the write is in progress, blocked on the other connection
        threading.Event().wait(0.01)
    closer.start()
    while not store._closed:  # close() has begun (and waits, or used to close at once)
        threading.Event().wait(0.01)
    holder.execute("COMMIT")  # let the write through
    worker.join()
    closer.join()
    holder.close()
    assert finished == ["write", "close"]
    reopened = SqliteStore(path)
    got = reopened.get_call("c1")
    assert got is not None and got.outcome == "hangup"
    reopened.close()
