"""Availability over a real SqliteStore: opening hours, nearest free slots, DST in Paris,
several resources, notice and horizon, and booking through the store's atomic check."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agi.booking import (
    HORIZON,
    Appointment,
    CallRecord,
    NewAppointment,
    Slot,
    SqliteStore,
    book_slot,
    check_slot,
    free_slots,
    is_open,
    localize,
    next_opening,
    slot_if_free,
    within_opening_hours,
)
from agi.config import Service, Tenant
from agi.errors import SlotTaken, SlotUnavailable

PARIS = ZoneInfo("Europe/Paris")
CONSULT = Service("consultation", 30)
SHORT = Service("short", 15)
Hours = Mapping[int, tuple[tuple[time, time], ...]]
DAY = ((time(9), time(12)), (time(14), time(18)))
# Mon, Tue, Thu, Fri full days; Wednesday morning only; closed at the weekend.
HOURS: Hours = {0: DAY, 1: DAY, 2: ((time(9), time(12)),), 3: DAY, 4: DAY}


def tenant(resources: tuple[str, ...] = ("A",), hours: Hours | None = None) -> Tenant:
    return Tenant(id="demo", name="Cabinet", resources=resources,
                  opening_hours=HOURS if hours is None else hours, services=(CONSULT, SHORT))


def paris(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=PARIS)


NOW = paris(3, 2, 8)  # Monday 2 March 2026, 08:00
MON = 9  # Monday 9 March 2026


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "permanence.sqlite3")
    yield s
    s.close()


def wall(slots: Sequence[Slot]) -> list[str]:
    return [f"{s.start:%a %d %H:%M}" for s in slots]


def block(store: SqliteStore, start: datetime, minutes: int, resource: str = "A") -> Appointment:
    return store.book(NewAppointment("demo", resource, "consultation", start,
                                     start + timedelta(minutes=minutes), "Busy", "+33100000000"))


# opening hours --------------------------------------------------------------------------
@pytest.mark.parametrize(("hour", "minute", "service", "fits"), [
    (17, 30, CONSULT, True),
    (17, 45, CONSULT, False),  # would end at 18:15, after closing
    (17, 45, SHORT, True),
    (18, 0, SHORT, False),
    (8, 45, SHORT, False),
    (9, 0, CONSULT, True),
    (11, 30, CONSULT, True),
    (11, 45, CONSULT, False),  # runs into the lunch break
    (13, 45, CONSULT, False),
    (14, 0, CONSULT, True),
])
def test_opening_hours_edges(hour: int, minute: int, service: Service, fits: bool) -> None:
    assert within_opening_hours(tenant(), paris(3, MON, hour, minute), service.duration_min) is fits


def test_closed_days_and_half_days() -> None:
    t = tenant()
    assert not within_opening_hours(t, paris(3, 11, 14), 30)  # Wednesday afternoon
    assert within_opening_hours(t, paris(3, 11, 10), 30)  # Wednesday morning
    assert not within_opening_hours(t, paris(3, 14, 10), 30)  # Saturday
    assert not within_opening_hours(t, paris(3, 15, 10), 30)  # Sunday


def test_inputs_in_other_time_zones_are_converted() -> None:
    t = tenant()
    assert within_opening_hours(t, datetime(2026, 3, MON, 8, 0, tzinfo=UTC), 30)  # 09:00 Paris
    assert not within_opening_hours(t, datetime(2026, 3, MON, 7, 45, tzinfo=UTC), 30)
    new_york = datetime(2026, 3, MON, 4, 0, tzinfo=ZoneInfo("America/New_York"))  # 09:00 Paris
    assert within_opening_hours(t, new_york, 30)


def test_naive_datetimes_are_rejected(store: SqliteStore) -> None:
    with pytest.raises(ValueError, match="naive"):
        within_opening_hours(tenant(), datetime(2026, 3, MON, 10), 30)
    with pytest.raises(ValueError, match="naive"):
        free_slots(store, tenant(), CONSULT, paris(3, MON, 10), now=datetime(2026, 3, 2, 8))


def test_is_open_and_next_opening() -> None:
    t = tenant()
    assert is_open(t, paris(3, MON, 11, 59)) and not is_open(t, paris(3, MON, 12))
    assert next_opening(t, paris(3, 14, 10)) == paris(3, 16, 9)  # Saturday -> Monday 09:00
    assert next_opening(t, paris(3, MON, 12, 30)) == paris(3, MON, 14)
    assert next_opening(t, paris(3, MON, 9)) == paris(3, MON, 9)
    assert next_opening(t, paris(3, 11, 13)) == paris(3, 12, 9)  # Wednesday pm -> Thursday
    assert next_opening(tenant(hours={}), paris(3, MON, 9)) is None


# nearest free slots ------------------------------------------------------------------------
def test_nearest_slots_by_distance_then_earlier(store: SqliteStore) -> None:
    slots = free_slots(store, tenant(), CONSULT, paris(3, MON, 10), now=NOW)
    assert wall(slots) == ["Mon 09 10:00", "Mon 09 09:45", "Mon 09 10:15"]
    assert all(s.end - s.start == timedelta(minutes=30) and s.resource == "A" for s in slots)
    assert all(s.start.tzinfo == PARIS for s in slots)


def test_taken_slots_are_skipped(store: SqliteStore) -> None:
    block(store, paris(3, MON, 10), 30)
    slots = free_slots(store, tenant(), CONSULT, paris(3, MON, 10), now=NOW)
    assert wall(slots) == ["Mon 09 09:30", "Mon 09 10:30", "Mon 09 09:15"]


def test_search_respects_lunch_break_and_closing(store: SqliteStore) -> None:
    slots = free_slots(store, tenant(), CONSULT, paris(3, MON, 12, 50), now=NOW)
    assert wall(slots) == ["Mon 09 14:00", "Mon 09 11:30", "Mon 09 14:15"]
    evening = free_slots(store, tenant(), CONSULT, paris(3, MON, 19), now=NOW, count=2)
    assert wall(evening) == ["Mon 09 17:30", "Mon 09 17:15"]


def test_search_skips_closed_days(store: SqliteStore) -> None:
    saturday = free_slots(store, tenant(), CONSULT, paris(3, 14, 10), now=NOW)
    assert wall(saturday) == ["Fri 13 17:30", "Fri 13 17:15", "Fri 13 17:00"]
    sunday_night = free_slots(store, tenant(), CONSULT, paris(3, 15, 20), now=NOW)
    assert wall(sunday_night) == ["Mon 16 09:00", "Mon 16 09:15", "Mon 16 09:30"]


def test_min_notice_and_past(store: SqliteStore) -> None:
    now = paris(3, 2, 9, 20)
    slots = free_slots(store, tenant(), CONSULT, now, now=now)
    assert wall(slots) == ["Mon 02 10:30", "Mon 02 10:45", "Mon 02 11:00"]
    assert slot_if_free(store, tenant(), CONSULT, paris(3, 2, 10), now=now) is None
    with pytest.raises(SlotUnavailable) as info:
        check_slot(tenant(), CONSULT, paris(3, 2, 10), now=now)
    assert info.value.reason == "too_soon"
    with pytest.raises(SlotUnavailable) as info:
        check_slot(tenant(), CONSULT, paris(3, 2, 9), now=now)
    assert info.value.reason == "past"


class CountingStore(SqliteStore):
    """The real SQLite store, counting calendar reads (a spy, not a fake)."""

    reads = 0

    def appointments(self, tenant_id: str, start: datetime, end: datetime,
                     resource: str | None = None) -> Sequence[Appointment]:
        self.reads += 1
        return super().appointments(tenant_id, start, end, resource)


def test_horizon_and_a_single_calendar_read(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / "db.sqlite3")
    try:
        # Three full weeks booked solid: the search has to look beyond them.
        day = NOW.date()
        for _ in range(21):
            for opens, closes in HOURS.get(day.weekday(), ()):
                start = datetime.combine(day, opens, tzinfo=PARIS)
                block(store, start, (closes.hour - opens.hour) * 60)
            day += timedelta(days=1)
        soon = free_slots(store, tenant(), CONSULT, NOW, now=NOW)
        assert wall(soon) == ["Mon 23 09:00", "Mon 23 09:15", "Mon 23 09:30"]
        assert store.reads == 1

        far = NOW + timedelta(days=120)
        late = free_slots(store, tenant(), CONSULT, far, now=NOW)
        # NOW + 60 days is Friday 1 May 09:00 (summer time): the last slot allowed.
        assert NOW.astimezone(UTC) + HORIZON == paris(5, 1, 9)  # real time, not wall
        assert wall(late) == ["Fri 01 09:00", "Thu 30 17:30", "Thu 30 17:15"]
        assert store.reads == 2
        with pytest.raises(SlotUnavailable) as info:
            check_slot(tenant(), CONSULT, far, now=NOW)
        assert info.value.reason == "too_far"
    finally:
        store.close()


# several resources -------------------------------------------------------------------------
def test_two_resources_one_busy(store: SqliteStore) -> None:
    t = tenant(resources=("Dr A", "Dr B"))
    taken = block(store, paris(3, MON, 10), 30, resource="Dr A")
    asked = slot_if_free(store, t, CONSULT, paris(3, MON, 10), now=NOW)
    assert asked == Slot(paris(3, MON, 10), paris(3, MON, 10, 30), "Dr B")
    first = free_slots(store, t, CONSULT, paris(3, MON, 10), now=NOW)[0]
    assert (f"{first.start:%H:%M}", first.resource) == ("10:00", "Dr B")
    # Before 10:00 Dr A is free again and comes first in the tenant's order.
    assert free_slots(store, t, CONSULT, paris(3, MON, 9), now=NOW)[0].resource == "Dr A"

    booked = book_slot(store, t, CONSULT, paris(3, MON, 10), name="Alice",
                       phone="+33612345678", call_id="", now=NOW)
    assert booked.resource == "Dr B" and booked.starts_at == paris(3, MON, 10)
    assert slot_if_free(store, t, CONSULT, paris(3, MON, 10), now=NOW) is None
    with pytest.raises(SlotTaken) as info:
        book_slot(store, t, CONSULT, paris(3, MON, 10, 15), name="Bob", phone="+33700000000",
                  call_id="", now=NOW)
    assert not isinstance(info.value, SlotUnavailable)
    assert info.value.conflict in (taken, booked)
    slots = free_slots(store, t, CONSULT, paris(3, MON, 10), now=NOW)
    assert wall(slots) == ["Mon 09 09:30", "Mon 09 10:30", "Mon 09 09:15"]


def test_book_slot_writes_one_linked_appointment(store: SqliteStore) -> None:
    store.start_call(CallRecord("call-1", "demo", "+33612345678", NOW))
    asked = datetime(2026, 3, MON, 14, 30, tzinfo=UTC)  # 15:30 in Paris
    appt = book_slot(store, tenant(), CONSULT, asked, name="Alice", phone="+33612345678",
                     call_id="call-1", now=NOW)
    assert (appt.starts_at, appt.ends_at) == (paris(3, MON, 15, 30), paris(3, MON, 16))
    assert (appt.service, appt.call_id, appt.status) == ("consultation", "call-1", "booked")
    assert store.appointments_for_caller("demo", "+33612345678") == [appt]


@pytest.mark.parametrize(("start", "reason"), [
    (paris(3, MON, 17, 45), "closed"),
    (paris(3, 14, 10), "closed"),
    (paris(3, 1, 10), "past"),
    (paris(3, 2, 8, 30), "too_soon"),
    (paris(6, 1, 10), "too_far"),
])
def test_book_slot_refuses_what_no_calendar_allows(store: SqliteStore, start: datetime,
                                                   reason: str) -> None:
    with pytest.raises(SlotUnavailable) as info:
        book_slot(store, tenant(), CONSULT, start, name="Alice", phone="+33612345678",
                  call_id="", now=NOW)
    assert info.value.reason == reason
    assert isinstance(info.value, SlotTaken)  # callers catching SlotTaken see it too
    assert store.appointments("demo", NOW, NOW + timedelta(days=120)) == []


def test_racing_bookings_fill_each_resource_once(store: SqliteStore) -> None:
    t = tenant(resources=("Dr A", "Dr B"))
    barrier = threading.Barrier(20)
    results: list[Appointment | BaseException] = []
    guard = threading.Lock()

    def race(n: int) -> None:
        barrier.wait()
        try:
            result: Appointment | BaseException = book_slot(
                store, t, CONSULT, paris(3, MON, 10), name=f"caller {n}", phone="+33612345678",
                call_id="", now=NOW)
        except SlotTaken as exc:
            result = exc
        with guard:
            results.append(result)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(20)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    won = [r for r in results if isinstance(r, Appointment)]
    assert len(results) == 20
    assert sorted(a.resource for a in won) == ["Dr A", "Dr B"]
    assert all(type(r) is SlotTaken for r in results if not isinstance(r, Appointment))


# daylight saving time (Europe/Paris) -----------------------------------------------------------
NIGHT: Hours = {6: ((time(1), time(4)),)}  # open Sunday 01:00-04:00, across the change itself


def test_spring_change_skips_missing_wall_times(store: SqliteStore) -> None:
    t = tenant(hours=NIGHT)
    now = paris(3, 25, 12)
    around = localize(t, datetime(2026, 3, 29, 2, 30))  # 02:30 does not exist
    assert (around.hour, around.minute, around.utcoffset()) == (3, 30, timedelta(hours=2))
    slots = free_slots(store, t, CONSULT, around, now=now, count=7)
    assert sorted(f"{s.start:%H:%M}" for s in slots) == [
        "01:00", "01:15", "01:30", "01:45", "03:00", "03:15", "03:30"]
    assert all(s.start.date() == around.date() for s in slots)
    last_winter = next(s for s in slots if f"{s.start:%H:%M}" == "01:45")
    assert f"{last_winter.end:%H:%M}" == "03:15"  # 30 real minutes across the change
    # Distance is real time: 01:45 CET is 15 minutes before 03:00 CEST.
    nearest = free_slots(store, t, CONSULT, paris(3, 29, 3), now=now, count=3)
    assert wall(nearest) == ["Sun 29 03:00", "Sun 29 01:45", "Sun 29 03:15"]


def test_autumn_change_offers_repeated_wall_times_once(store: SqliteStore) -> None:
    t = tenant(hours=NIGHT)
    now = paris(10, 20, 12)
    slots = free_slots(store, t, CONSULT, paris(10, 25, 2), now=now, count=11)
    walls = [f"{s.start:%H:%M}" for s in slots]
    assert sorted(walls) == [f"{h:02d}:{m:02d}" for h in (1, 2, 3) for m in (0, 15, 30, 45)
                             if (h, m) != (3, 45)]
    assert len(set(walls)) == len(walls) == 11
    assert len({s.start.astimezone(UTC) for s in slots}) == 11
    two = next(s for s in slots if f"{s.start:%H:%M}" == "02:00")
    assert two.start.fold == 0 and two.start.utcoffset() == timedelta(hours=2)
    assert localize(t, datetime(2026, 10, 25, 2, 30)).utcoffset() == timedelta(hours=2)


def test_office_hours_stay_local_across_the_change(store: SqliteStore) -> None:
    now = paris(3, 26, 12)  # Thursday before the change
    before = free_slots(store, tenant(), CONSULT, paris(3, 27, 9), now=now, count=1)[0]
    after = free_slots(store, tenant(), CONSULT, paris(3, 30, 9), now=now, count=1)[0]
    assert (before.start.hour, before.start.utcoffset()) == (9, timedelta(hours=1))
    assert (after.start.hour, after.start.utcoffset()) == (9, timedelta(hours=2))
    block(store, paris(3, 30, 9), 30)
    moved = free_slots(store, tenant(), CONSULT, paris(3, 30, 9), now=now, count=1)[0]
    assert f"{moved.start:%a %H:%M %Z}" == "Mon 09:30 CEST"
