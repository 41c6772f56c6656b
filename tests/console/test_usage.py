"""Usage metering on both stores (SQLite file and real PostgreSQL, tests/conftest.py):
counted once per call in the end of call's transaction, by the tenant's local day, with
the billing rounding exact at its boundaries, and the same report after the personal-data
purge removed the calls it was counted from."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from agi.booking import CallRecord, NewAppointment, Store
from agi.booking.store import PurgeCutoffs
from agi.booking.usage import UsagePolicy, month_days, totals

if TYPE_CHECKING:
    from conftest import StoreFactory

PARIS = {"demo": "Europe/Paris", "other": "Europe/Paris"}
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def call(store: Store, call_id: str, start: datetime, seconds: float, outcome: str,
         tenant: str = "demo", caller: str = "+33612345678") -> None:
    store.start_call(CallRecord(call_id=call_id, tenant_id=tenant, caller=caller, started_at=start))
    store.add_turn(call_id, "caller", "bonjour", start)
    store.end_call(call_id, start + timedelta(seconds=seconds), outcome)


@pytest.mark.parametrize(("seconds", "minute", "second"), [
    (0, 0, 0), (1, 60, 1), (59, 60, 59), (59.2, 60, 60), (60, 60, 60), (61, 120, 61),
    (119, 120, 119), (120, 120, 120), (121, 180, 121)])
def test_billing_rounds_at_the_minute_boundaries(seconds: float, minute: int, second: int) -> None:
    connected = -(-int(seconds * 1000) // 1000)  # what the store measures: whole seconds, up
    assert UsagePolicy("minute").billed_seconds(connected) == minute
    assert UsagePolicy("second").billed_seconds(connected) == second


@pytest.mark.parametrize("rounding", ["minute", "second"])
def test_the_store_bills_each_call_by_the_configured_rounding(
        make_store: StoreFactory, rounding: str) -> None:
    store = make_store(usage=UsagePolicy(rounding, PARIS))  # type: ignore[arg-type]
    for i, seconds in enumerate((59, 60, 61)):
        call(store, f"c{i}", T0 + timedelta(hours=i), seconds, "hangup")
    (row,) = store.usage_days(date(2026, 11, 1), date(2026, 11, 1))
    assert (row.calls, row.connected_s) == (3, 180)
    assert row.billed_s == (60 + 60 + 120 if rounding == "minute" else 180)


def test_a_replayed_end_of_call_counts_once(store: Store) -> None:
    call(store, "c1", T0, 90, "message")
    store.end_call("c1", T0 + timedelta(seconds=95), "message")  # the spool replays it
    (row,) = store.usage_days(date(2026, 11, 1), date(2026, 11, 30))
    assert (row.calls, row.connected_s) == (1, 90)


def test_a_call_counts_for_the_tenants_local_day(make_store: StoreFactory) -> None:
    store = make_store(usage=UsagePolicy("minute", PARIS))
    call(store, "late", datetime(2026, 10, 31, 23, 30, tzinfo=UTC), 30, "hangup")  # 00:30 Paris
    rows = store.usage_days(*month_days("2026-11"))
    assert [(r.day, r.calls) for r in rows] == [(date(2026, 11, 1), 1)]
    assert store.usage_days(*month_days("2026-10")) == []


def test_bookings_moves_messages_leads_and_transfers_are_counted(store: Store) -> None:
    store.start_call(CallRecord(call_id="b", tenant_id="demo", caller="+33612345678", started_at=T0))
    appt = store.book(NewAppointment("demo", "A", "consultation", T0 + timedelta(days=3),
                                     T0 + timedelta(days=3, minutes=30), "Alice", "+33612345678",
                                     call_id="b"))
    store.end_call("b", T0 + timedelta(seconds=100), "booked")
    store.start_call(CallRecord(call_id="m", tenant_id="demo", caller="+33612345678", started_at=T0))
    store.move(appt.id, T0 + timedelta(days=4), T0 + timedelta(days=4, minutes=30), call_id="m")
    store.add_message("demo", "m", "+33612345678", "Alice", "merci", T0)
    store.add_lead("demo", "m", "+33612345678", "callback", {"when": "demain"}, T0)
    store.end_call("m", T0 + timedelta(seconds=50), "moved")
    call(store, "t", T0, 20, "transfer")
    call(store, "x", T0, 20, "cancelled")
    (total,) = totals(store.usage_days(*month_days("2026-11")))
    assert (total.calls, total.bookings, total.moves, total.messages, total.leads,
            total.transfers, total.cancellations) == (4, 1, 1, 1, 1, 1, 1)
    assert total.by_outcome == {"booked": 1, "cancelled": 1, "moved": 1, "transfer": 1}


def test_a_month_reports_the_same_before_and_after_the_purge(store: Store) -> None:
    rng = random.Random(13)
    outcomes = ["booked", "message", "transfer", "hangup", "no_input", "cancelled"]
    for i in range(120):
        start = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(29 * 24 * 60))
        call(store, f"c{i}", start, rng.randrange(0, 600), rng.choice(outcomes),
             tenant=rng.choice(["demo", "other"]))
    before = store.usage_days(*month_days("2026-11"))
    assert sum(r.calls for r in before) == 120
    far = datetime(2027, 6, 1, tzinfo=UTC)
    report = store.purge(PurgeCutoffs(calls=far, messages=far, appointments=far, outbox=far))
    assert report.calls == 120 and store.list_calls() == []
    assert store.usage_days(*month_days("2026-11")) == before
    with pytest.raises(Exception, match="no call"):  # a late replay cannot count it again
        store.end_call("c0", far, "hangup")
    assert store.usage_days(*month_days("2026-11")) == before


def test_the_ledger_purge_keeps_the_billing_retention(store: Store) -> None:
    call(store, "old", datetime(2016, 1, 5, tzinfo=UTC), 30, "hangup")
    call(store, "new", T0, 30, "hangup")
    removed = store.purge_ledger(date(2016, 12, 1), T0, T0)
    assert removed["usage"] == 1
    assert [r.day for r in store.usage_days(date(2000, 1, 1), date(2100, 1, 1))] == [T0.date()]


def test_a_usage_alert_is_claimed_once(store: Store) -> None:
    assert store.claim_usage_alert("demo", "2026-11", "minutes", T0)
    assert not store.claim_usage_alert("demo", "2026-11", "minutes", T0)
    assert store.claim_usage_alert("demo", "2026-12", "minutes", T0)


def test_month_days_names_the_expected_form() -> None:
    assert month_days("2026-02") == (date(2026, 2, 1), date(2026, 2, 28))
    assert month_days("2026-12") == (date(2026, 12, 1), date(2026, 12, 31))
    with pytest.raises(ValueError, match="YYYY-MM"):
        month_days("11/2026")
