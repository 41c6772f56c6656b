"""The outbox in both stores (SQLite file and real PostgreSQL, see tests/conftest.py): rows
written in the same transaction as the booking, cancellation or message, none when the
write fails, leases that never hand one row to two claimers, and the sent/failed/dead
transitions."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from notify_helpers import MakeStore

from agi.booking import CallRecord, NewAppointment, Store
from agi.booking.store import OutboxKind
from agi.errors import SlotTaken, StoreError

T0 = datetime(2030, 3, 12, 14, 30, tzinfo=UTC)
TARGETS = {"demo": ("email:desk", "webhook:crm", "caldav:agenda"), "other": ("webhook:crm",)}


def targets(tenant_id: str, kind: OutboxKind) -> tuple[str, ...]:
    found = TARGETS.get(tenant_id, ())
    return tuple(t for t in found if kind != "message" or not t.startswith("caldav"))


def appt(start: datetime = T0, resource: str = "A", tenant: str = "demo",
         call_id: str = "") -> NewAppointment:
    return NewAppointment(tenant_id=tenant, resource=resource, service="consultation",
                          starts_at=start, ends_at=start + timedelta(minutes=30),
                          customer_name="Alice Martin", customer_phone="+33612345678",
                          call_id=call_id)


@pytest.fixture
def notifying(make_store: MakeStore) -> Store:
    return make_store(targets_for=targets)


def test_booking_queues_one_row_per_target_in_its_transaction(notifying: Store) -> None:
    booked = notifying.book(appt())
    rows = notifying.outbox()
    assert [(r.kind, r.target, r.status, r.attempts) for r in rows] == [
        ("appointment_booked", t, "pending", 0) for t in TARGETS["demo"]]
    assert [r.idempotency_key for r in rows] == [
        f"demo:appointment_booked:{booked.id}:{t}" for t in TARGETS["demo"]]
    payload = rows[0].payload
    assert payload["appointment_id"] == booked.id and payload["customer_name"] == "Alice Martin"
    assert datetime.fromisoformat(payload["starts_at"]) == T0
    assert all(r.created_at.tzinfo == UTC and r.sent_at is None for r in rows)


def test_a_booking_that_fails_leaves_no_row(notifying: Store) -> None:
    notifying.book(appt())
    with pytest.raises(SlotTaken):
        notifying.book(appt(T0 + timedelta(minutes=10)))
    with pytest.raises(StoreError, match="no call"):  # fails after its own checks started
        notifying.book(appt(T0 + timedelta(hours=2), call_id="missing"))
    assert len(notifying.outbox()) == len(TARGETS["demo"])  # the first booking's only


def test_cancel_queues_once_and_messages_skip_calendars(notifying: Store) -> None:
    booked = notifying.book(appt())
    notifying.cancel(booked.id)
    notifying.cancel(booked.id)  # idempotent: the business hears of it once
    notifying.start_call(CallRecord("c1", "demo", "+33612345678", T0))
    msg = notifying.add_message("demo", "c1", "+33612345678", "Bob", "Call me back", T0)
    kinds = [(r.kind, r.target) for r in notifying.outbox("demo")]
    assert kinds == ([("appointment_booked", t) for t in TARGETS["demo"]]
                     + [("appointment_cancelled", t) for t in TARGETS["demo"]]
                     + [("message", "email:desk"), ("message", "webhook:crm")])
    message_row = notifying.outbox("demo")[-1]
    assert message_row.payload["text"] == "Call me back" and message_row.payload["message_id"] == msg.id
    assert notifying.outbox("other") == [] and notifying.outbox(status="sent") == []


def test_stores_without_targets_queue_nothing(make_store: MakeStore) -> None:
    store = make_store()
    store.book(appt())
    assert store.outbox() == []


def test_claim_leases_send_fail_and_dead(notifying: Store) -> None:
    notifying.book(appt())
    now = datetime.now(UTC) + timedelta(seconds=1)
    first = notifying.claim_outbox(now, 2, lease_s=60)
    assert len(first) == 2
    rest = notifying.claim_outbox(now, 10, lease_s=60)
    assert len(rest) == 1 and rest[0].id not in {i.id for i in first}  # leased rows are skipped
    assert notifying.claim_outbox(now, 10, lease_s=60) == []

    notifying.outbox_sent(first[0].id, now)
    notifying.outbox_failed(first[1].id, "SMTP down", now + timedelta(minutes=5))
    notifying.outbox_failed(rest[0].id, "answered 410", now, dead=True)
    # A lease that ran out without an answer makes the row claimable again: here none is,
    # the failed one is due in five minutes.
    later = now + timedelta(minutes=2)
    assert notifying.claim_outbox(later, 10, lease_s=60) == []
    again = notifying.claim_outbox(now + timedelta(minutes=6), 10, lease_s=60)
    assert [(i.id, i.attempts, i.last_error) for i in again] == [(first[1].id, 1, "SMTP down")]
    notifying.outbox_failed(again[0].id, "not tried", now + timedelta(minutes=7), attempted=False)

    by_id = {r.id: r for r in notifying.outbox()}
    assert by_id[first[0].id].status == "sent" and by_id[first[0].id].sent_at == now
    assert by_id[rest[0].id].status == "dead" and by_id[rest[0].id].last_error == "answered 410"
    assert by_id[first[1].id].attempts == 1 and by_id[first[1].id].status == "pending"
    # A late report for a finished row changes nothing; an unknown row is an error.
    notifying.outbox_failed(first[0].id, "late", now, dead=True)
    assert notifying.outbox(status="sent")[0].id == first[0].id
    with pytest.raises(StoreError, match="no outbox item"):
        notifying.outbox_sent(10**9, now)


def test_an_expired_lease_is_claimed_again(notifying: Store) -> None:
    notifying.book(appt())
    now = datetime.now(UTC) + timedelta(seconds=1)
    claimed = notifying.claim_outbox(now, 10, lease_s=30)
    assert len(claimed) == 3
    # The worker died holding them: after the lease, another one takes them over.
    assert len(notifying.claim_outbox(now + timedelta(seconds=31), 10, lease_s=30)) == 3


def test_concurrent_claimers_never_share_a_row(make_store: MakeStore) -> None:
    stores = [make_store(targets_for=targets) for _ in range(4)]
    for i in range(15):
        stores[0].book(appt(T0 + timedelta(hours=i)))
    now = datetime.now(UTC) + timedelta(seconds=1)
    claimed: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def claim(store: Store) -> None:
        barrier.wait()
        while batch := store.claim_outbox(now, 3, lease_s=60):
            with lock:
                claimed.extend(i.id for i in batch)

    threads = [threading.Thread(target=claim, args=(stores[n % 4],)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(r.id for r in stores[0].outbox())
    assert len(claimed) == 45
