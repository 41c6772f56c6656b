"""The booking domain on both stores (SQLite and a real PostgreSQL, see conftest.py):
service buffers, resources with their own hours and leave, closures and public holidays,
minimum notice and horizon from the tenant, daylight-saving changes in Paris, moving an
appointment (atomic, raced, notified), callers and leads."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest

from agi.booking import Appointment, CallRecord, NewAppointment, Slot, Store
from agi.booking.availability import (
    book_slot,
    check_slot,
    free_slots,
    is_open,
    move_slot,
    next_opening,
    slot_if_free,
    within_opening_hours,
)
from agi.config import Closure, Resource, Service, Tenant, settings_from_dict
from agi.errors import ConfigError, SlotTaken, SlotUnavailable, StoreError

if TYPE_CHECKING:
    from conftest import StoreFactory

PARIS = ZoneInfo("Europe/Paris")
DAY = ((time(9), time(12)), (time(14), time(18)))
WEEK = {d: DAY for d in range(5)}  # Monday to Friday
CONSULT = Service("consultation", 30)
BUFFERED = Service("soin", 30, buffer_min=15)


def paris(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=PARIS)


def tenant(**kw: Any) -> Tenant:
    base: dict[str, Any] = {"id": "demo", "name": "Cabinet", "resources": ("A",),
                            "opening_hours": WEEK, "services": (CONSULT, BUFFERED)}
    return Tenant(**{**base, **kw})


def wall(slots: Sequence[Slot]) -> list[str]:
    return [f"{s.start:%m-%d %H:%M} {s.resource}" for s in slots]


NOW = paris(2026, 12, 1, 8)  # Tuesday


# buffers -------------------------------------------------------------------------------
def test_a_buffer_blocks_the_next_slot(store: Store) -> None:
    t = tenant()
    first = book_slot(store, t, BUFFERED, paris(2026, 12, 2, 9), name="A", phone="+33611111111",
                      call_id="", now=NOW)
    assert first.buffer_min == 15 and first.blocked_until == paris(2026, 12, 2, 9, 45)
    # 09:30 falls in the buffer; 09:45 is the first start after it
    assert slot_if_free(store, t, CONSULT, paris(2026, 12, 2, 9, 30), now=NOW) is None
    with pytest.raises(SlotTaken) as info:
        book_slot(store, t, CONSULT, paris(2026, 12, 2, 9, 30), name="B", phone="", call_id="",
                  now=NOW)
    assert info.value.conflict == first
    slots = free_slots(store, t, CONSULT, paris(2026, 12, 2, 9), now=NOW, count=2)
    assert wall(slots) == ["12-02 09:45 A", "12-02 10:00 A"]
    # a buffered booking cannot let its own buffer run into the next appointment
    store.book(NewAppointment("demo", "A", "x", paris(2026, 12, 2, 11), paris(2026, 12, 2, 11, 30),
                              "C", ""))
    assert slot_if_free(store, t, BUFFERED, paris(2026, 12, 2, 10, 30), now=NOW) is None
    assert slot_if_free(store, t, BUFFERED, paris(2026, 12, 2, 10, 15), now=NOW) is not None


def test_closing_time_with_a_buffer(store: Store) -> None:
    # The appointment must end by closing time; its buffer may run past it.
    t = tenant()
    evening = free_slots(store, t, BUFFERED, paris(2026, 12, 2, 18), now=NOW, count=2)
    assert wall(evening) == ["12-02 17:30 A", "12-02 17:15 A"]
    with pytest.raises(SlotUnavailable) as info:
        check_slot(t, BUFFERED, paris(2026, 12, 2, 17, 45), now=NOW)
    assert info.value.reason == "closed"
    last = book_slot(store, t, BUFFERED, paris(2026, 12, 2, 17, 30), name="L", phone="",
                     call_id="", now=NOW)
    assert last.blocked_until == paris(2026, 12, 2, 18, 15)
    assert slot_if_free(store, t, BUFFERED, paris(2026, 12, 2, 17), now=NOW) is None


# resources -----------------------------------------------------------------------------
def test_resources_with_their_own_hours(store: Store) -> None:
    # Dr Martin: mornings only; Dr Roux: Tuesday and Wednesday afternoons only.
    t = tenant(resources=("Martin", "Roux"), resource_details=(
        Resource("Martin", {d: ((time(8), time(12)),) for d in range(5)}),
        Resource("Roux", {1: ((time(14), time(20)),), 2: ((time(14), time(20)),)})))
    assert wall(free_slots(store, t, CONSULT, paris(2026, 12, 2, 8), now=NOW, count=1)) == [
        "12-02 09:00 Martin"]  # 08:00 is inside Martin's hours but not the tenant's
    assert wall(free_slots(store, t, CONSULT, paris(2026, 12, 2, 17, 30), now=NOW, count=1)) == [
        "12-02 17:30 Roux"]  # 19:00 would be Roux's but the practice closes at 18:00
    assert slot_if_free(store, t, CONSULT, paris(2026, 12, 3, 15), now=NOW) is None  # Thursday
    with pytest.raises(SlotUnavailable, match="closed|not open"):
        check_slot(t, CONSULT, paris(2026, 12, 3, 15), now=NOW)
    appt = book_slot(store, t, CONSULT, paris(2026, 12, 2, 15), name="P", phone="", call_id="",
                     now=NOW)
    assert appt.resource == "Roux"


def test_two_resource_service_when_one_practitioner_is_on_leave(store: Store) -> None:
    t = tenant(resources=("Martin", "Roux", "Room"), services=(
        Service("consultation", 30, resources=("Martin", "Roux")),), resource_details=(
        Resource("Martin", closures=(Closure(datetime(2026, 12, 2), datetime(2026, 12, 4)),)),
        Resource("Roux"), Resource("Room")))
    service = t.service(None)
    # Wednesday: Martin on leave, Roux takes everything; the room never does consultations.
    taken = book_slot(store, t, service, paris(2026, 12, 2, 9), name="A", phone="", call_id="",
                      now=NOW)
    assert taken.resource == "Roux"
    assert slot_if_free(store, t, service, paris(2026, 12, 2, 9), now=NOW) is None
    assert wall(free_slots(store, t, service, paris(2026, 12, 2, 9), now=NOW, count=1)) == [
        "12-02 09:30 Roux"]
    # Friday: both work, Martin first (the service's order)
    assert slot_if_free(store, t, service, paris(2026, 12, 4, 9), now=NOW) == Slot(
        paris(2026, 12, 4, 9), paris(2026, 12, 4, 9, 30), "Martin")
    with pytest.raises(ValueError, match="cannot perform"):
        slot_if_free(store, t, service, paris(2026, 12, 4, 9), now=NOW, resource="Room")
    both_away = tenant(resources=("Martin",), resource_details=(Resource("Martin", closures=(
        Closure(datetime(2026, 12, 2), datetime(2026, 12, 3)),)),))
    with pytest.raises(SlotUnavailable, match="leave") as info:
        check_slot(both_away, CONSULT, paris(2026, 12, 2, 9), now=NOW)
    assert info.value.reason == "closed"


# closures and holidays ------------------------------------------------------------------
def test_public_holidays_and_closures_are_skipped_and_refused(store: Store) -> None:
    t = tenant(public_holidays="FR", horizon_days=90, closures=(
        Closure(datetime(2026, 12, 24, 14), datetime(2026, 12, 24, 18)),))
    now = paris(2026, 12, 24, 7, 30)
    # Thursday 24 afternoon closed, Friday 25 (Christmas) closed: Monday 28 comes next.
    around = free_slots(store, t, CONSULT, paris(2026, 12, 25, 10), now=now, count=14)
    assert {s.start.date().isoformat() for s in around} == {"2026-12-24", "2026-12-28"}
    assert max(s.start for s in around if s.start.day == 24) == paris(2026, 12, 24, 11, 30)
    assert min(s.start for s in around if s.start.day == 28) == paris(2026, 12, 28, 9)
    new_year = free_slots(store, t, CONSULT, paris(2027, 1, 1, 9), now=now, count=1)
    assert wall(new_year) == ["12-31 17:30 A"]  # Friday 1 January is a holiday in France
    for start, why in ((paris(2026, 12, 25, 10), "Christmas"), (paris(2027, 1, 1, 10), "New Year"),
                       (paris(2026, 12, 24, 15), "closure")):
        with pytest.raises(SlotUnavailable, match=why) as info:
            book_slot(store, t, CONSULT, start, name="X", phone="", call_id="", now=now)
        assert info.value.reason == "closed"
    assert not within_opening_hours(t, paris(2026, 12, 25, 10), 30)
    assert not is_open(t, paris(2026, 12, 25, 10)) and is_open(t, paris(2026, 12, 24, 10))
    assert next_opening(t, paris(2026, 12, 24, 13)) == paris(2026, 12, 28, 9)
    assert store.appointments("demo", now, now + timedelta(days=30)) == []


# daylight saving -------------------------------------------------------------------------
def test_a_search_spanning_both_changes_in_paris(store: Store) -> None:
    every_day = {d: ((time(1), time(4)), (time(9), time(12))) for d in range(7)}
    t = tenant(opening_hours=every_day, horizon_days=200)
    now = paris(2026, 10, 24, 0)
    autumn = free_slots(store, t, CONSULT, paris(2026, 10, 25, 2), now=now, count=6)
    # 02:00-03:00 happens twice on 25 October: each wall time is offered once (first one)
    assert wall(autumn) == ["10-25 02:00 A", "10-25 01:45 A", "10-25 02:15 A", "10-25 01:30 A",
                            "10-25 02:30 A", "10-25 01:15 A"]
    assert {s.start.utcoffset() for s in autumn} == {timedelta(hours=2)}
    assert all(s.end.astimezone(UTC) - s.start.astimezone(UTC) == timedelta(minutes=30)
               for s in autumn)
    saturday = free_slots(store, t, CONSULT, paris(2026, 10, 24, 9), now=now, count=1)[0]
    monday = free_slots(store, t, CONSULT, paris(2026, 10, 26, 9), now=now, count=1)[0]
    assert saturday.start.astimezone(UTC).hour == 7 and monday.start.astimezone(UTC).hour == 8
    spring = free_slots(store, t, CONSULT, paris(2027, 3, 28, 3), now=now, count=4)
    # 02:00-03:00 does not exist on 28 March: 01:45 is 15 real minutes before 03:00
    assert wall(spring) == ["03-28 03:00 A", "03-28 01:45 A", "03-28 03:15 A", "03-28 01:30 A"]
    assert all(s.start.astimezone(UTC).date().isoformat() == "2027-03-28" for s in spring)
    a = book_slot(store, t, CONSULT, paris(2027, 3, 28, 1, 45), name="S", phone="", call_id="",
                  now=now)
    assert a.ends_at.astimezone(PARIS) == paris(2027, 3, 28, 3, 15)
    assert slot_if_free(store, t, CONSULT, paris(2027, 3, 28, 3), now=now) is None


def test_notice_and_horizon_come_from_the_tenant(store: Store) -> None:
    t = tenant(min_notice_min=24 * 60, horizon_days=3)
    with pytest.raises(SlotUnavailable) as info:
        check_slot(t, CONSULT, paris(2026, 12, 1, 14), now=NOW)
    assert info.value.reason == "too_soon"
    with pytest.raises(SlotUnavailable) as info:
        check_slot(t, CONSULT, paris(2026, 12, 7, 9), now=NOW)
    assert info.value.reason == "too_far"
    slots = free_slots(store, t, CONSULT, paris(2026, 12, 20, 9), now=NOW, count=100)
    assert min(s.start for s in slots) == paris(2026, 12, 2, 9)
    assert max(s.start for s in slots) == paris(2026, 12, 3, 17, 30)
    # explicit arguments still win
    check_slot(t, CONSULT, paris(2026, 12, 1, 14), now=NOW, min_notice=timedelta(hours=1))


# moving ----------------------------------------------------------------------------------
def targets(tenant_id: str, kind: str) -> list[str]:
    return ["webhook:crm"]


def test_move_keeps_one_appointment_frees_the_old_slot_and_notifies(
        make_store: StoreFactory) -> None:
    store = make_store(targets_for=targets)
    t = tenant(resources=("A", "B"))
    store.start_call(CallRecord("c1", "demo", "+33611111111", NOW))
    store.start_call(CallRecord("c2", "demo", "+33611111111", NOW + timedelta(days=1)))
    booked = book_slot(store, t, BUFFERED, paris(2026, 12, 3, 9), name="Jean",
                       phone="+33611111111", call_id="c1", now=NOW)
    moved = move_slot(store, t, BUFFERED, booked, paris(2026, 12, 3, 9, 15), now=NOW, call_id="c2")
    assert (moved.id, moved.status, moved.resource, moved.revision) == (booked.id, "moved", "A", 1)
    assert moved.call_id == "c1" and moved.moved_by_call == "c2" and moved.buffer_min == 15
    assert moved.starts_at == paris(2026, 12, 3, 9, 15)  # overlapping its own old time is fine
    again = move_slot(store, t, BUFFERED, moved, paris(2026, 12, 4, 14), now=NOW)
    live = store.appointments("demo", paris(2026, 12, 3, 0), paris(2026, 12, 5, 0))
    assert live == [again] and store.appointments_for_caller("demo", "+33611111111") == [again]
    assert slot_if_free(store, t, CONSULT, paris(2026, 12, 3, 9), now=NOW, resource="A")
    # the old slot is free again; the new one is taken on A, so a move there goes to B
    other = book_slot(store, t, CONSULT, paris(2026, 12, 3, 9), name="P", phone="", call_id="",
                      now=NOW)
    onto_b = move_slot(store, t, CONSULT, other, paris(2026, 12, 4, 14), now=NOW)
    assert onto_b.resource == "B"
    kinds = [(i.kind, i.payload.get("revision"), i.idempotency_key) for i in store.outbox("demo")]
    assert [k[:2] for k in kinds] == [("appointment_booked", 0), ("appointment_moved", 1),
                                      ("appointment_moved", 2), ("appointment_booked", 0),
                                      ("appointment_moved", 1)]
    assert len({k[2] for k in kinds}) == 5
    first_move = store.outbox("demo")[1].payload
    assert first_move["previous"]["starts_at"] == booked.starts_at.isoformat()
    assert first_move["moved_by_call"] == "c2" and first_move["call_id"] == "c1"
    cancelled = store.cancel(again.id)
    assert cancelled.revision == 3
    with pytest.raises(StoreError, match="cancelled"):
        store.move(again.id, paris(2026, 12, 7, 9), paris(2026, 12, 7, 9, 30))
    with pytest.raises(StoreError, match="no appointment 9999"):
        store.move(9999, paris(2026, 12, 7, 9), paris(2026, 12, 7, 9, 30))
    with pytest.raises(SlotUnavailable) as info:
        move_slot(store, t, CONSULT, onto_b, paris(2026, 12, 5, 9), now=NOW)  # Saturday
    assert info.value.reason == "closed"


def race_moves(stores: Sequence[Store], t: Tenant, appts: Sequence[Appointment],
               target: datetime) -> list[Appointment | SlotTaken]:
    """Move appts[n] to ``target`` through stores[n], all threads released at once."""
    barrier = threading.Barrier(len(appts))
    results: list[Appointment | SlotTaken] = []
    guard = threading.Lock()

    def race(n: int) -> None:
        barrier.wait()
        try:
            result: Appointment | SlotTaken = move_slot(stores[n], t, CONSULT, appts[n], target,
                                                        now=NOW)
        except SlotTaken as exc:
            result = exc
        with guard:
            results.append(result)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(len(appts))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return results


def test_two_threads_moving_into_one_slot_one_wins(make_store: StoreFactory) -> None:
    patient = {"timeout": 60.0} if make_store.backend == "postgres" else {}
    stores = [make_store(**patient), make_store(**patient)]
    t = tenant()
    for day in (2, 3, 4):  # a few rounds: the race must hold every time, not once
        mine = [book_slot(stores[0], t, CONSULT, paris(2026, 12, day, 9 + n), name=f"P{n}",
                          phone="", call_id="", now=NOW) for n in range(2)]
        results = race_moves(stores, t, mine, paris(2026, 12, day, 15))
        won = [r for r in results if not isinstance(r, SlotTaken)]
        lost = [r for r in results if isinstance(r, SlotTaken)]
        assert len(won) == 1 and len(lost) == 1, results
        assert lost[0].conflict == won[0]
        day_view = stores[1].appointments("demo", paris(2026, 12, day, 0), paris(2026, 12, day, 23))
        assert len(day_view) == 2 and won[0] in day_view  # the loser kept its old time


# callers and leads -------------------------------------------------------------------------
def test_callers_are_upserted_by_calls(store: Store) -> None:
    store.start_call(CallRecord("c1", "demo", "+33611111111", NOW))
    store.start_call(CallRecord("c2", "demo", "", NOW + timedelta(hours=2)))
    store.set_caller("c2", "+33611111111")
    store.set_caller("c2", "+33611111111")  # the same call again: not counted twice
    store.start_call(CallRecord("c3", "demo", "anonymous", NOW))
    store.set_caller("c3", "")  # withheld: not tracked
    seen = store.caller("demo", "+33611111111")
    assert seen is not None
    assert (seen.calls, seen.first_seen, seen.last_seen, seen.name) == (
        2, NOW, NOW + timedelta(hours=2), "")
    named = store.touch_caller("demo", "+33611111111", NOW + timedelta(hours=1), name="Jean Dupont")
    assert (named.name, named.calls, named.last_seen) == ("Jean Dupont", 2, NOW + timedelta(hours=2))
    assert store.touch_caller("demo", "+33611111111", NOW, new_call=True).name == "Jean Dupont"
    assert store.caller("other", "+33611111111") is None
    with pytest.raises(ValueError, match="E.164"):
        store.touch_caller("demo", "0611111111", NOW)


def test_leads_are_stored_and_notified(make_store: StoreFactory) -> None:
    store = make_store(targets_for=targets)
    store.start_call(CallRecord("c1", "demo", "+33611111111", NOW))
    details: Mapping[str, Any] = {"product": "veranda", "budget": 12000, "when": NOW}
    lead = store.add_lead("demo", "c1", "+33611111111", "quote", details, NOW)
    store.add_lead("other", "", "", "callback", {}, NOW)
    assert store.leads("demo") == [lead]
    assert lead.details == {"product": "veranda", "budget": 12000, "when": NOW.isoformat()}
    assert lead.call_id == "c1" and lead.created_at == NOW
    item = store.outbox("demo")[0]
    assert item.kind == "lead" and item.payload["details"]["product"] == "veranda"
    with pytest.raises(ValueError, match="kind"):
        store.add_lead("demo", "", "", "", {}, NOW)


# configuration ------------------------------------------------------------------------------
def config(**tenant_keys: Any) -> dict[str, Any]:
    base = {"id": "demo", "services": [{"name": "soin", "duration_min": 30, "buffer_min": 10,
                                        "resources": ["Dr Martin"]}],
            "resource": [{"name": "Dr Martin", "opening_hours": {"mon": ["09:00-12:00"]},
                          "closures": ["2026-08-03/2026-08-14"]}, {"name": "Dr Roux"}],
            "opening_hours": {"mon": ["08:00-18:00"]},
            "closures": ["2026-12-25", "2026-12-24T14:00/2026-12-24T18:00"],
            "public_holidays": "FR", "min_notice_min": 120, "horizon_days": 30}
    return {"tenants": [{**base, **tenant_keys}]}


def test_booking_configuration_is_read() -> None:
    t = settings_from_dict(config()).tenants[0]
    assert t.resources == ("Dr Martin", "Dr Roux")
    assert t.resource("Dr Martin").opening_hours == {0: ((time(9), time(12)),)}
    assert t.resource("Dr Martin").closures == (Closure(datetime(2026, 8, 3), datetime(2026, 8, 15)),)
    assert t.resource("Dr Roux").opening_hours == {}
    assert t.closures == (Closure(datetime(2026, 12, 24, 14), datetime(2026, 12, 24, 18)),
                          Closure(datetime(2026, 12, 25), datetime(2026, 12, 26)))
    assert (t.public_holidays, t.min_notice, t.horizon) == ("FR", timedelta(hours=2),
                                                            timedelta(days=30))
    assert t.services[0].buffer_min == 10 and t.services[0].resources == ("Dr Martin",)
    plain = settings_from_dict({"tenants": [{"id": "x", "resources": ["A", "B"], "services": [
        {"name": "s", "duration_min": 15}]}]}).tenants[0]
    assert plain.resources == ("A", "B") and plain.resource("A") == Resource("A")
    assert (plain.min_notice_min, plain.horizon_days, plain.services[0].buffer_min) == (60, 60, 0)


@pytest.mark.parametrize(("keys", "where"), [
    ({"public_holidays": "XX"}, "public_holidays"),
    ({"closures": ["25/12/2026"]}, "closures[0]"),
    ({"closures": ["2026-12-26/2026-12-25"]}, "closures[0]"),
    ({"resources": ["A"]}, "resource"),
    ({"min_notice_min": -5}, "min_notice_min"),
    ({"services": [{"name": "s", "duration_min": 30, "resources": ["Nobody"]}]},
     "services[0].resources"),
    ({"services": [{"name": "s", "duration_min": 30, "buffer": 5}]}, "services[0].buffer"),
])
def test_bad_booking_configuration_names_the_key(keys: dict[str, Any], where: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_dict(config(**keys))
    assert info.value.key.endswith(where)
