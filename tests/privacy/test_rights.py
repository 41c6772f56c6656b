"""The data subject's rights on both stores (SQLite file, real throwaway PostgreSQL):
the register's lifecycle and art. 12(3) deadlines with an injected clock, rectification,
restriction and objection as the outbox sees them, access and erasure recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from agi.booking import CallRecord, NewAppointment, Store
from agi.booking.store import OutboxKind
from agi.privacy import PrivacyRights, SealedStore, due_date, health_fields, may_contact
from agi.privacy.crypto import Keyring, new_key_line
from agi.privacy.rights import HOLD_S, add_months, days_left

if TYPE_CHECKING:
    from conftest import StoreFactory

ALICE, BOB, ALICE_RIGHT = "+33612345678", "+33698765432", "+33611111111"
CHECK = "called back on the number"


class Clock:
    """An injected clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def targets(tenant_id: str, kind: OutboxKind) -> tuple[str, ...]:
    return ("webhook:crm",)


@pytest.fixture
def sealed(make_store: StoreFactory) -> Store:
    return SealedStore(make_store(targets_for=targets), Keyring.parse(new_key_line("k1"), "t"))


def some_data(store: Store, phone: str, call_id: str, at: datetime) -> None:
    store.start_call(CallRecord(call_id=call_id, tenant_id="demo", caller=phone, started_at=at))
    store.add_turn(call_id, "caller", "bonjour", at)
    store.add_message("demo", call_id, phone, "Alise", "rappelez-moi", at)
    store.add_lead("demo", call_id, phone, "callback", {"about": "devis"}, at)
    store.book(NewAppointment(tenant_id="demo", resource=phone, service="consultation",
                              starts_at=at + timedelta(days=2 + len(call_id)),
                              ends_at=at + timedelta(days=2 + len(call_id), minutes=30),
                              customer_name="Alise", customer_phone=phone, call_id=call_id))


# deadlines --------------------------------------------------------------------------------
@pytest.mark.parametrize(("received", "due"), [
    (datetime(2027, 3, 15, 9, 30, tzinfo=UTC), datetime(2027, 4, 15, 9, 30, tzinfo=UTC)),
    (datetime(2027, 1, 31, 18, 0, tzinfo=UTC), datetime(2027, 2, 28, 18, 0, tzinfo=UTC)),
    (datetime(2028, 1, 31, 18, 0, tzinfo=UTC), datetime(2028, 2, 29, 18, 0, tzinfo=UTC)),
    (datetime(2027, 12, 20, 8, 0, tzinfo=UTC), datetime(2028, 1, 20, 8, 0, tzinfo=UTC)),
    (datetime(2027, 8, 31, 8, 0, tzinfo=UTC), datetime(2027, 9, 30, 8, 0, tzinfo=UTC)),
])
def test_the_answer_is_due_one_calendar_month_later(received: datetime, due: datetime) -> None:
    assert due_date(received) == due


def test_add_months_over_years() -> None:
    assert add_months(datetime(2027, 11, 30, tzinfo=UTC), 3) == datetime(2028, 2, 29, tzinfo=UTC)
    assert add_months(datetime(2027, 1, 31, tzinfo=UTC), 14) == datetime(2028, 3, 31, tzinfo=UTC)


def test_a_request_s_lifecycle_in_the_register(sealed: Store) -> None:
    clock = Clock(datetime(2027, 1, 31, 10, 0, tzinfo=UTC))
    rights = PrivacyRights(sealed, clock)
    request = rights.receive("demo", ALICE, "access", CHECK)
    assert request.is_open and request.due_at == datetime(2027, 2, 28, 10, 0, tzinfo=UTC)
    assert days_left(request, clock.now) == 28
    assert health_fields(sealed, clock.now)["privacy_requests_overdue"] == 0

    clock.now = datetime(2027, 2, 28, 10, 0, 1, tzinfo=UTC)  # one second late
    assert [r.id for r in rights.register.requests(open_only=True)] == [request.id]
    health = health_fields(sealed, clock.now)
    assert (health["privacy_requests_open"], health["privacy_requests_overdue"]) == (1, 1)
    assert "overdue" in health["warnings"][0]

    with pytest.raises(ValueError, match="1 or 2 months"):
        rights.extend(request.id, 3, "many records")
    with pytest.raises(ValueError, match="reason"):
        rights.extend(request.id, 2, " ")
    extended = rights.extend(request.id, 2, "records spread over two systems")
    assert extended.deadline == datetime(2027, 4, 30, 10, 0, tzinfo=UTC)
    assert health_fields(sealed, clock.now)["privacy_requests_overdue"] == 0

    answered = rights.answer(request.id, "cli:alice", {"note": "sent by post"})
    assert not answered.is_open and answered.answered_at == clock.now
    assert answered.answered_by == "cli:alice" and answered.details["note"] == "sent by post"
    assert rights.register.requests(open_only=True) == []
    assert [r.id for r in rights.register.requests("demo")] == [request.id]
    with pytest.raises(ValueError, match="was answered"):
        rights.answer(request.id, "cli:alice")
    with pytest.raises(ValueError, match="identity"):
        rights.receive("demo", ALICE, "access", "")


# rectification ----------------------------------------------------------------------------
def test_rectify_number_and_name_everywhere_old_value_only_in_the_request(sealed: Store) -> None:
    now = datetime.now(UTC)
    some_data(sealed, ALICE, "a1", now)
    some_data(sealed, BOB, "b1", now)
    sealed.touch_caller("demo", ALICE_RIGHT, now - timedelta(days=9), name="")
    rights = PrivacyRights(sealed, Clock(now))

    done = rights.rectify("demo", ALICE, identity_check=CHECK, by="cli:x",
                          new_phone=ALICE_RIGHT, new_name="Alice")

    assert done.result.counts() == {"calls": 1, "appointments": 1, "messages": 1, "leads": 1,
                                    "callers": 1}
    assert done.request.details["phone"] == {"old": ALICE, "new": ALICE_RIGHT}
    assert done.request.details["name"] == {"old": "Alise", "new": "Alice"}
    assert not done.request.is_open
    export = sealed.personal_data("demo", ALICE_RIGHT)
    assert [c["call_id"] for c in export["calls"]] == ["a1"]
    assert [m["name"] for m in export["messages"]] == ["Alice"]
    assert [a["customer_name"] for a in export["appointments"]] == ["Alice"]
    merged = sealed.caller("demo", ALICE_RIGHT)
    assert merged is not None and merged.calls == 1 and merged.name == "Alice"
    assert merged.first_seen == now - timedelta(days=9)
    old = sealed.personal_data("demo", ALICE)
    assert (old["calls"], old["messages"], old["appointments"], old["caller"]) == ([], [], [], None)
    assert sealed.personal_data("demo", BOB)["messages"][0]["name"] == "Alise"  # untouched


# restriction and objection ----------------------------------------------------------------
def _claimed(store: Store, at: datetime) -> list[tuple[str, str]]:
    items = store.claim_outbox(at, 50, 30)
    for item in items:
        store.outbox_sent(item.id, at)
    return sorted((i.kind, str(i.payload.get("customer_phone") or i.payload.get("caller")))
                  for i in items)


def test_restriction_holds_notifications_until_lifted(sealed: Store) -> None:
    now = datetime.now(UTC)
    rights = PrivacyRights(sealed, Clock(now))
    done = rights.restrict("demo", ALICE, identity_check=CHECK, by="cli:x")
    assert done.result.restricted and not done.request.is_open
    some_data(sealed, ALICE, "a1", now)
    some_data(sealed, BOB, "b1", now)

    assert {p for _, p in _claimed(sealed, now + timedelta(minutes=1))} == {BOB}
    held = [i for i in sealed.outbox(status="pending")]
    assert {i.payload.get("customer_phone") or i.payload.get("caller") for i in held} == {ALICE}
    assert all("restricted" in i.last_error and i.attempts == 0 for i in held)
    assert _claimed(sealed, now + timedelta(seconds=HOLD_S + 1)) == []  # still restricted
    assert not may_contact(sealed, "demo", ALICE) and may_contact(sealed, "demo", BOB)

    flags = rights.lift("demo", ALICE, "restricted", by="cli:x")
    assert not flags.restricted
    assert rights.register.request(done.request.id).details["lifted_by"] == "cli:x"  # type: ignore[union-attr]
    later = now + timedelta(seconds=2 * HOLD_S + 2)
    assert {p for _, p in _claimed(sealed, later)} == {ALICE}
    assert len(sealed.outbox(status="sent")) == 6


def test_objection_suppresses_notifications_and_call_backs_for_good(sealed: Store) -> None:
    now = datetime.now(UTC)
    rights = PrivacyRights(sealed, Clock(now))
    rights.object("demo", ALICE, identity_check="at the desk, ID card", by="console:anna")
    some_data(sealed, ALICE, "a1", now)  # a later call from that number: answered, kept
    some_data(sealed, BOB, "b1", now)

    assert {p for _, p in _claimed(sealed, now + timedelta(minutes=1))} == {BOB}
    dead = sealed.outbox(status="dead")
    assert len(dead) == 3 and all("objected" in i.last_error for i in dead)
    assert not may_contact(sealed, "demo", ALICE)
    assert sealed.get_call("a1") is not None  # the call itself is answered and recorded
    assert [f.phone for f in rights.register.flagged("demo")] == [ALICE]


# access and erasure -----------------------------------------------------------------------
def test_access_and_erasure_are_recorded_and_answered(sealed: Store) -> None:
    now = datetime.now(UTC)
    some_data(sealed, ALICE, "a1", now)
    rights = PrivacyRights(sealed, Clock(now))
    access = rights.access("demo", ALICE, identity_check=CHECK, by="cli:x", kind="portability")
    assert access.result["version"] == 1 and access.result["messages"][0]["text"] == "rappelez-moi"
    assert access.request.kind == "portability" and not access.request.is_open
    erased = rights.erase("demo", ALICE, identity_check=CHECK, by="cli:x")
    assert erased.request.details["counts"]["calls"] == 1
    assert erased.request.details["upcoming_kept"] == [a.id for a in erased.result.upcoming]
    assert [r.kind for r in rights.register.requests("demo")] == ["portability", "erasure"]


def test_privacy_status_for_health(sealed: Store, make_store: StoreFactory) -> None:
    from agi.privacy.rights import privacy_status

    now = datetime(2027, 5, 1, tzinfo=UTC)
    PrivacyRights(sealed, Clock(now - timedelta(days=40))).receive("demo", ALICE, "erasure", CHECK)
    status = privacy_status(sealed, now)
    assert (status["privacy_requests_open"], status["privacy_requests_overdue"]) == (1, 1)
    assert privacy_status(None) == {}
    closed = make_store()
    closed.close()
    assert privacy_status(closed, now) == {"privacy_requests": "unknown"}


def test_every_right_exercised_is_in_the_access_log(sealed: Store) -> None:
    now = datetime.now(UTC)
    some_data(sealed, ALICE, "a1", now)
    rights = PrivacyRights(sealed, Clock(now))
    rights.restrict("demo", ALICE, identity_check=CHECK, by="anna")
    rights.lift("demo", ALICE, "restricted", by="anna")
    rights.object("demo", ALICE, identity_check=CHECK, by="cli:root")
    rights.access("demo", ALICE, identity_check=CHECK, by="anna")
    rights.rectify("demo", ALICE, identity_check=CHECK, by="anna", new_name="Alice")
    rights.erase("demo", ALICE, identity_check=CHECK, by="anna")
    entries = sealed.access_log()
    assert sorted(e.action for e in entries) == sorted(
        ["restrict", "lift_restriction", "object", "export", "rectify", "erase"])
    assert all(ALICE not in e.subject and e.subject.startswith("+336") for e in entries)
    assert {e.channel for e in entries} == {"console", "cli"}
