"""free_slots within a window (days and wall-clock hours) over a real SqliteStore, Paris."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agi.booking import NewAppointment, SqliteStore, free_slots
from agi.booking.availability import Window
from agi.config import Service, Tenant

PARIS = ZoneInfo("Europe/Paris")
CONSULT = Service("consultation", 30)
DAY = ((time(9), time(12)), (time(14), time(18)))
TENANT = Tenant(id="demo", name="Cabinet", resources=("A",),
                opening_hours={d: DAY for d in range(5)}, services=(CONSULT,))
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=PARIS)  # Monday


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "w.sqlite3")
    yield s
    s.close()


def wall(slots: list) -> list[str]:  # type: ignore[type-arg]
    return [f"{s.start:%a %d %H:%M}" for s in slots]


def test_late_morning_tomorrow_offers_only_inside_the_window(store: SqliteStore) -> None:
    window = Window(date(2026, 12, 1), date(2026, 12, 1), time(10), time(12))
    around = datetime(2026, 12, 1, 10, 0, tzinfo=PARIS)
    assert wall(free_slots(store, TENANT, CONSULT, around, now=NOW, within=window)) == [
        "Tue 01 10:00", "Tue 01 10:15", "Tue 01 10:30"]


def test_a_busy_window_offers_the_rest_of_it_never_outside(store: SqliteStore) -> None:
    start = datetime(2026, 12, 1, 10, 0, tzinfo=PARIS)
    store.book(NewAppointment("demo", "A", "consultation", start, start + timedelta(hours=2),
                              "Busy", "+33100000000"))
    window = Window(date(2026, 12, 1), date(2026, 12, 1), time(10), time(12))
    assert free_slots(store, TENANT, CONSULT, start, now=NOW, within=window) == []
    later = Window(date(2026, 12, 1), date(2026, 12, 2), time(10), time(12))
    assert wall(free_slots(store, TENANT, CONSULT, start, now=NOW, within=later)) == [
        "Wed 02 10:00", "Wed 02 10:15", "Wed 02 10:30"]


def test_an_exact_hour_over_several_days_and_closed_days_skipped(store: SqliteStore) -> None:
    window = Window(date(2026, 12, 4), date(2026, 12, 8), time(15), time(15))  # Fri to Tue
    around = datetime(2026, 12, 4, 15, 0, tzinfo=PARIS)
    assert wall(free_slots(store, TENANT, CONSULT, around, now=NOW, within=window)) == [
        "Fri 04 15:00", "Mon 07 15:00", "Tue 08 15:00"]


def test_a_window_of_whole_days_and_one_in_the_past(store: SqliteStore) -> None:
    days = Window(date(2026, 12, 5), date(2026, 12, 7))  # weekend then Monday
    around = datetime(2026, 12, 5, 0, 0, tzinfo=PARIS)
    assert wall(free_slots(store, TENANT, CONSULT, around, now=NOW, within=days, count=2)) == [
        "Mon 07 09:00", "Mon 07 09:15"]
    gone = Window(date(2026, 11, 20), date(2026, 11, 27))
    assert free_slots(store, TENANT, CONSULT, NOW, now=NOW, within=gone) == []
