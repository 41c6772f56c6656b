"""The ledger's records on both stores (SQLite and real PostgreSQL): the access log,
console users, handled marks and turn figures, and what the purges do to them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from agi.booking import CallRecord, Store
from agi.booking.access_log import AccessEntry, ConsoleUser
from agi.booking.latency import TurnFigures, percentile
from agi.booking.store import PurgeCutoffs

T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
FAR = T0 + timedelta(days=4000)


def test_access_log_keeps_entries_newest_first_and_outlives_the_data(store: Store) -> None:
    store.start_call(CallRecord("c1", "demo", "+33612345678", T0))
    for i, action in enumerate(("sign_in", "transcript_read", "erase")):
        store.log_access(AccessEntry(T0 + timedelta(minutes=i), "alice", action, "demo",
                                     "c1", "10.0.0.5"))
    with pytest.raises(ValueError, match="unknown access action"):
        store.log_access(AccessEntry(T0, "alice", "peek"))
    entries = store.access_log()
    assert [e.action for e in entries] == ["erase", "transcript_read", "sign_in"]
    assert entries[0].at == T0 + timedelta(minutes=2) and entries[0].source == "10.0.0.5"
    assert [e.action for e in store.access_log(T0 + timedelta(minutes=1))] == [
        "erase", "transcript_read"]
    store.purge(PurgeCutoffs(calls=FAR, messages=FAR, appointments=FAR, outbox=FAR))
    store.erase_person("demo", "+33612345678")
    assert store.access_log() == entries
    removed = store.purge_ledger(date(2000, 1, 1), T0, T0 + timedelta(minutes=1))
    assert removed["access_log"] == 1 and len(store.access_log()) == 2


def test_users_are_saved_replaced_and_removed(store: Store) -> None:
    store.save_user(ConsoleUser("alice", "hash1", "staff", ("demo", "demo-en"), "fr"), T0)
    store.save_user(ConsoleUser("alice", "hash2", "staff", ("demo",), "en"), T0 + timedelta(days=1))
    alice = store.user("alice")
    assert alice is not None and (alice.password_hash, alice.tenants, alice.language) == (
        "hash2", ("demo",), "en")
    assert alice.created_at == T0
    with pytest.raises(ValueError, match="role"):
        store.save_user(ConsoleUser("x", "h", "root"), T0)
    assert [u.name for u in store.users()] == ["alice"]
    assert store.remove_user("alice") and not store.remove_user("alice")


def test_a_message_is_marked_done_once_and_the_mark_goes_with_it(store: Store) -> None:
    message = store.add_message("demo", "", "+33612345678", "Bob", "rappel", T0)
    first = store.mark_handled("message", message.id, "demo", "alice", T0)
    again = store.mark_handled("message", message.id, "demo", "bob", T0 + timedelta(hours=1))
    assert first == again and first.by == "alice"
    assert list(store.handled("demo")) == [("message", message.id)]
    store.purge(PurgeCutoffs(calls=FAR, messages=FAR, appointments=FAR, outbox=FAR))
    assert store.purge_ledger(date(2000, 1, 1), T0, T0)["handled"] == 1
    assert store.handled("demo") == {}


def test_turn_figures_take_the_calls_tenant_and_give_percentiles(store: Store) -> None:
    store.start_call(CallRecord("c1", "demo-en", "", T0))
    for i, voice in enumerate((900.0, 1100.0, None)):
        store.record_turn(TurnFigures("", "c1", T0 + timedelta(seconds=i), 500.0, 90.0, 30.0,
                                      110.0, voice))
    store.record_turn(TurnFigures("", "unknown-call", T0, 1.0, 1.0, 1.0, 1.0, 1.0))
    turns = store.turn_figures(T0, T0 + timedelta(minutes=1))
    assert [(t.tenant_id, t.voice_ms) for t in turns] == [
        ("demo-en", 900.0), ("demo-en", 1100.0), ("demo-en", None)]
    assert store.turn_figures(T0, T0 + timedelta(minutes=1), ["demo"]) == []
    assert percentile([t.voice_ms for t in turns if t.voice_ms], 50) == 900.0
    assert store.purge_ledger(date(2000, 1, 1), T0 + timedelta(seconds=1), T0)["turns"] == 1
