"""Retention, erasure and access on both stores (SQLite file and real PostgreSQL, see
tests/conftest.py): the purge cut-offs are exact at the boundary, ended appointments are
anonymised but stay, unsent notifications survive, an erasure removes everything of one
number and nothing of another, the export lists it all, and every operation is idempotent."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from agi.booking import CallRecord, NewAppointment, Store
from agi.booking.store import OutboxKind, PurgeCutoffs, PurgeReport
from agi.config import PrivacySettings
from agi.errors import SlotTaken
from agi.privacy import cutoffs

if TYPE_CHECKING:
    from conftest import StoreFactory

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CUT = cutoffs(PrivacySettings(), NOW)
TICK = timedelta(microseconds=1)
ALICE, BOB = "+33612345678", "+33698765432"


def targets(tenant_id: str, kind: OutboxKind) -> tuple[str, ...]:
    return ("webhook:crm",)


def start(store: Store, call_id: str, caller: str, at: datetime, tenant: str = "demo") -> None:
    store.start_call(CallRecord(call_id=call_id, tenant_id=tenant, caller=caller, started_at=at))
    store.add_turn(call_id, "agent", "Bonjour", at)
    store.add_turn(call_id, "caller", f"c'est {caller}", at + timedelta(seconds=2))


def book(store: Store, starts: datetime, phone: str, name: str, resource: str = "A",
         call_id: str = "") -> int:
    return store.book(NewAppointment(
        tenant_id="demo", resource=resource, service="consultation", starts_at=starts,
        ends_at=starts + timedelta(minutes=30), customer_name=name, customer_phone=phone,
        call_id=call_id)).id


# purge ----------------------------------------------------------------------------------
def test_calls_older_than_the_cutoff_go_with_their_turns_and_callers(store: Store) -> None:
    start(store, "old", ALICE, CUT.calls - TICK)
    start(store, "edge", BOB, CUT.calls)
    store.add_message("demo", "old", ALICE, "Alice", "rappelez-moi", NOW)

    report = store.purge(CUT)

    assert (report.calls, report.turns, report.callers) == (1, 2, 1)
    assert store.get_call("old") is None and store.transcript("old") == []
    assert store.get_call("edge") is not None and len(store.transcript("edge")) == 2
    assert store.caller("demo", ALICE) is None and store.caller("demo", BOB) is not None
    # a message of a purged call keeps its own retention; only the link goes
    assert [(m.call_id, m.text) for m in store.messages("demo")] == [("", "rappelez-moi")]


def test_messages_and_leads_older_than_the_cutoff_go(store: Store) -> None:
    store.add_message("demo", "", ALICE, "Alice", "vieux", CUT.messages - TICK)
    store.add_message("demo", "", ALICE, "Alice", "limite", CUT.messages)
    store.add_lead("demo", "", ALICE, "devis", {"what": "vieux"}, CUT.messages - TICK)
    store.add_lead("demo", "", ALICE, "devis", {"what": "limite"}, CUT.messages)

    report = store.purge(CUT)

    assert (report.messages, report.leads) == (1, 1)
    assert [m.text for m in store.messages("demo")] == ["limite"]
    assert [lead.details["what"] for lead in store.leads("demo")] == ["limite"]


def test_ended_appointments_are_anonymised_but_stay(store: Store) -> None:
    old = book(store, CUT.appointments - timedelta(minutes=30) - TICK, ALICE, "Alice")
    edge = book(store, CUT.appointments - timedelta(minutes=30), ALICE, "Alice", resource="B")
    future = book(store, NOW + timedelta(days=2), ALICE, "Alice")

    assert store.purge(CUT).appointments == 1

    window = store.appointments("demo", CUT.appointments - timedelta(hours=1),
                                CUT.appointments + timedelta(hours=1))
    by_id = {a.id: a for a in window}
    # the row stays for the business's history, with its status, minus the person
    assert (by_id[old].customer_name, by_id[old].customer_phone, by_id[old].status) == (
        "", "", "booked")
    assert (by_id[edge].customer_name, by_id[edge].customer_phone) == ("Alice", ALICE)
    assert [a.id for a in store.appointments_for_caller("demo", ALICE)] == [edge, future]
    # the upcoming appointment is untouched and still holds its slot
    with pytest.raises(SlotTaken):
        book(store, NOW + timedelta(days=2), BOB, "Bob")


def test_sent_notifications_go_after_their_period_and_pending_ones_never(
        make_store: StoreFactory) -> None:
    store = make_store(targets_for=targets)
    for text in ("sent long ago", "sent at the edge", "never sent"):
        store.add_message("demo", "", ALICE, "Alice", text, NOW)
    first, edge, pending = store.outbox()
    store.outbox_sent(first.id, CUT.outbox - TICK)
    store.outbox_sent(edge.id, CUT.outbox)

    assert store.purge(CUT).outbox == 1
    assert [r.id for r in store.outbox()] == [edge.id, pending.id]

    # even with every cut-off in the future, a notification still owed is kept
    later = NOW + timedelta(days=10_000)
    store.purge(PurgeCutoffs(calls=later, messages=later, appointments=later, outbox=later))
    assert [(r.id, r.status) for r in store.outbox()] == [(pending.id, "pending")]


def test_dead_notifications_go_with_the_messages_period(make_store: StoreFactory) -> None:
    store = make_store(targets_for=targets)
    store.add_message("demo", "", ALICE, "Alice", "x", NOW)
    (row,) = store.outbox()
    store.outbox_failed(row.id, "refused", NOW, dead=True)
    created = row.created_at  # the store's own clock

    keep = PurgeCutoffs(calls=NOW, messages=created, appointments=NOW, outbox=NOW)
    assert store.purge(keep).outbox == 0
    after = created + TICK
    assert store.purge(PurgeCutoffs(calls=NOW, messages=after, appointments=NOW,
                                    outbox=NOW)).outbox == 1
    assert store.outbox() == []


def test_a_dry_run_counts_exactly_and_changes_nothing_and_purges_are_idempotent(
        make_store: StoreFactory) -> None:
    store = make_store(targets_for=targets)
    start(store, "old", ALICE, CUT.calls - timedelta(days=1))
    store.add_message("demo", "old", ALICE, "Alice", "vieux", CUT.messages - timedelta(days=1))
    book(store, CUT.appointments - timedelta(days=1), ALICE, "Alice")
    for item in store.outbox():
        store.outbox_sent(item.id, CUT.outbox - timedelta(days=1))
    before = store.personal_data("demo", ALICE)

    dry = store.purge(CUT, dry_run=True)

    assert store.personal_data("demo", ALICE) == before
    real = store.purge(CUT)
    assert dry == real
    assert real.counts() == {"calls": 1, "turns": 2, "callers": 1, "messages": 1, "leads": 0,
                             "appointments": 1, "outbox": 2}
    assert store.purge(CUT) == PurgeReport()


# erasure --------------------------------------------------------------------------------
def _two_people(store: Store) -> dict[str, int]:
    """Alice and Bob each with a call, a message, a lead, past, cancelled and upcoming
    appointments; returns Alice's appointment ids."""
    ids = {}
    for phone, name, resource in ((ALICE, "Alice", "A"), (BOB, "Bob", "B")):
        call_id = f"call-{name}"
        start(store, call_id, phone, NOW - timedelta(days=3))
        store.add_message("demo", call_id, phone, name, f"message de {name}", NOW - timedelta(days=3))
        store.add_lead("demo", call_id, phone, "devis", {"phone": phone}, NOW - timedelta(days=3))
        past = book(store, NOW - timedelta(days=2), phone, name, resource, call_id)
        upcoming = book(store, NOW + timedelta(days=2), phone, name, resource, call_id)
        cancelled = book(store, NOW + timedelta(days=3), phone, name, resource)
        store.cancel(cancelled)
        if name == "Alice":
            ids = {"past": past, "upcoming": upcoming, "cancelled": cancelled}
    return ids


def test_erasure_removes_everything_of_one_number_and_nothing_of_another(
        make_store: StoreFactory) -> None:
    store = make_store(targets_for=targets)
    alice = _two_people(store)
    for item in store.outbox():
        if item.payload.get("appointment_id") != alice["upcoming"]:
            store.outbox_sent(item.id, NOW)
    bob_before = store.personal_data("demo", BOB)

    report = store.erase_person("demo", ALICE, now=NOW)

    assert (report.calls, report.turns, report.callers, report.messages, report.leads) == (
        1, 2, 1, 1, 1)
    assert report.appointments == 2  # the past one and the cancelled one
    assert [a.id for a in report.upcoming] == [alice["upcoming"]]
    held = store.personal_data("demo", ALICE)
    assert (held["caller"], held["calls"], held["messages"], held["leads"]) == (None, [], [], [])
    # only the upcoming appointment still carries the number, with its pending notification
    assert [a["id"] for a in held["appointments"]] == [alice["upcoming"]]
    assert [(o["kind"], o["status"]) for o in held["outbox"]] == [("appointment_booked", "pending")]
    # message, lead, past booking, the cancelled one's booking and cancellation
    assert report.outbox == 5
    assert store.get_call("call-Alice") is None and store.transcript("call-Alice") == []
    assert store.personal_data("demo", BOB) == bob_before


def test_an_erasure_twice_removes_nothing_more(store: Store) -> None:
    alice = _two_people(store)
    store.erase_person("demo", ALICE, now=NOW)

    again = store.erase_person("demo", ALICE, now=NOW)

    assert again.total == 0 and [a.id for a in again.upcoming] == [alice["upcoming"]]


def test_an_erasure_keeps_a_notification_being_delivered(make_store: StoreFactory) -> None:
    store = make_store(targets_for=targets)
    store.add_message("demo", "", ALICE, "Alice", "rappelez-moi", NOW)
    now = datetime.now(UTC)
    (leased,) = store.claim_outbox(now, 10, lease_s=300)

    report = store.erase_person("demo", ALICE, now=now)

    assert (report.messages, report.outbox) == (1, 0)
    assert [r.id for r in store.outbox()] == [leased.id]


def test_erasure_and_export_need_an_e164_number(store: Store) -> None:
    with pytest.raises(ValueError, match="E.164"):
        store.erase_person("demo", "%")
    with pytest.raises(ValueError, match="E.164"):
        store.personal_data("demo", "0612345678")


def test_a_number_is_matched_whole_not_as_a_prefix(make_store: StoreFactory) -> None:
    store = make_store(targets_for=targets)
    longer = ALICE + "9"  # still E.164 (15 digits at most)
    store.add_message("demo", "", longer, "Other", "autre", NOW)

    assert store.erase_person("demo", ALICE, now=NOW).total == 0
    assert len(store.outbox()) == 1 and len(store.messages("demo")) == 1


# access ---------------------------------------------------------------------------------
def test_the_export_lists_everything_held_about_the_number(make_store: StoreFactory) -> None:
    store = make_store(targets_for=targets)
    alice = _two_people(store)
    store.touch_caller("demo", ALICE, NOW, name="Alice")
    start(store, "elsewhere", ALICE, NOW, tenant="other")  # another business's data

    held = json.loads(json.dumps(store.personal_data("demo", ALICE)))

    assert held["tenant_id"] == "demo" and held["phone"] == ALICE
    assert held["caller"]["name"] == "Alice" and held["caller"]["calls"] == 1
    assert [c["call_id"] for c in held["calls"]] == ["call-Alice"]
    assert [t["text"] for t in held["calls"][0]["transcript"]] == ["Bonjour", f"c'est {ALICE}"]
    assert sorted(a["id"] for a in held["appointments"]) == sorted(alice.values())
    assert {a["status"] for a in held["appointments"]} == {"booked", "cancelled"}
    assert [m["text"] for m in held["messages"]] == ["message de Alice"]
    assert [lead["details"] for lead in held["leads"]] == [{"phone": ALICE}]
    assert {o["kind"] for o in held["outbox"]} == {
        "message", "lead", "appointment_booked", "appointment_cancelled"}
    assert all(BOB not in json.dumps(o) for o in held["outbox"])


# the loop beside the calls ------------------------------------------------------------------
def test_the_purge_loop_purges_at_start_and_rides_out_a_store_that_fails(
        make_store: StoreFactory, caplog: pytest.LogCaptureFixture) -> None:
    """``permanence serve`` runs purge_forever: it purges at once, a store error is logged
    (not fatal to the loop), and setting ``stop`` ends it."""
    import asyncio

    from agi.privacy import purge_forever

    store = make_store()
    old = NOW - timedelta(days=PrivacySettings().calls_days + 1)
    store.start_call(CallRecord("old", "t", "+33612000001", old))
    broken = make_store()
    broken.close()  # every operation now raises StoreError, as an unreachable database does

    async def scenario() -> None:
        stop = asyncio.Event()
        healthy = asyncio.create_task(purge_forever(store, PrivacySettings(), stop, lambda: NOW))
        failing = asyncio.create_task(purge_forever(broken, PrivacySettings(), stop, lambda: NOW))
        while store.get_call("old") is not None or "privacy purge failed" not in caplog.text:
            await asyncio.sleep(0.01)
        assert not failing.done()  # still waiting for its next interval
        stop.set()
        await asyncio.gather(healthy, failing)

    with caplog.at_level("WARNING", logger="agi.privacy"):
        asyncio.run(scenario())
    assert "privacy purge failed, next try in 24 h" in caplog.text
