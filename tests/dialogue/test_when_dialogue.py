"""Dates and times in whole dialogues (builtin engine, real nlu/, real SqliteStore and
availability rules); fixed clock Thursday 2026-11-26 10:00, tenants open Mon-Fri 9-12, 14-18.

A range is offered within its window, a past day is refused and asked again, an ambiguous
one is asked as a short question, and nothing is written before the caller's yes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time
from pathlib import Path

import pytest
from test_builtin import EN, FR, at, booked, said, talk

from agi.booking.sqlite import SqliteStore
from agi.config import DialogueSettings
from agi.dialogue.builtin import BuiltinEngine


@pytest.fixture(scope="module")
def engine() -> BuiltinEngine:
    return BuiltinEngine(DialogueSettings().project_dir)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "t.sqlite3")
    yield s
    s.close()


def test_a_range_is_offered_within_its_window_then_booked_after_the_yes(
        engine: BuiltinEngine, store: SqliteStore) -> None:
    c = talk(engine, store)
    c.respond("je voudrais un rendez-vous demain plutôt en fin de matinée")
    r = c.respond("jean dupont")
    offered = c.slots.get("offered") or []
    assert offered, said(r)
    assert all("2026-11-27T1" in s and time(10) <= time.fromisoformat(s[11:16]) <= time(12)
               for s in offered), offered
    assert said(r).startswith("Je peux vous proposer vendredi 27 novembre à 10 heures")
    assert booked(store) == []
    r = c.respond("le premier")
    assert "vendredi 27 novembre à 10 heures" in said(r) and booked(store) == []
    c.respond("oui")
    [appt] = booked(store)
    assert appt.starts_at == at(FR, 2026, 11, 27, 10, 0)


def test_a_range_of_days_with_an_exact_hour_offers_that_hour_on_those_days(
        engine: BuiltinEngine, store: SqliteStore) -> None:
    c = talk(engine, store)
    c.respond("un rendez-vous la semaine prochaine à quinze heures au nom de marie martin")
    offered = c.slots.get("offered") or []
    assert offered and all(s[11:16] == "15:00" and "2026-11-30" <= s[:10] <= "2026-12-06"
                           for s in offered), offered


def test_a_past_day_is_refused_and_asked_again(engine: BuiltinEngine, store: SqliteStore) -> None:
    c = talk(engine, store)
    c.respond("je voudrais un rendez-vous")
    c.respond("jean dupont")
    r = c.respond("hier à dix heures")
    assert "déjà passée" in said(r) and r.expecting == "date"
    r = c.respond("lundi dernier")
    assert "déjà passée" in said(r) and r.expecting == "date"
    r = c.respond("mardi prochain")
    assert r.expecting is None and "mardi 1er décembre à 10 heures" in said(r)
    assert booked(store) == []


def test_an_earlier_hour_today_is_refused(engine: BuiltinEngine, store: SqliteStore) -> None:
    c = talk(engine, store)
    r = c.respond("un rendez-vous aujourd'hui à neuf heures au nom de paul petit")
    assert "déjà passée" in said(r) and r.expecting == "time"


def test_a_weekday_that_does_not_match_the_day_number_is_asked(
        engine: BuiltinEngine, store: SqliteStore) -> None:
    c = talk(engine, store)
    r = c.respond("je voudrais un rendez-vous mardi neuf à dix heures")
    assert r.expecting == "name"  # asked once the name is in, not to be taken for the name
    r = c.respond("jean dupont")
    assert said(r) == "Pardon, vous voulez dire mercredi 9 décembre ou mardi 8 décembre ?"
    assert r.expecting == "date" and "date" not in c.data and c.data["time"] == "10:00"
    r = c.respond("le mercredi neuf décembre")
    assert "mercredi 9 décembre à 10 heures" in said(r)
    c.respond("oui")
    [appt] = booked(store)
    assert appt.starts_at == at(FR, 2026, 12, 9, 10, 0)


def test_an_hour_that_could_be_morning_or_evening_is_asked(
        engine: BuiltinEngine, store: SqliteStore) -> None:
    c = talk(engine, store)
    r = c.respond("un rendez-vous jeudi à sept heures au nom de jean dupont")
    assert "7 heures ou 19 heures" in said(r) and r.expecting == "time"
    r = c.respond("dix-neuf heures")
    assert r.data["time"] == "19:00" and said(r).startswith("Nous sommes fermés")  # closed at 19 h


def test_english_relative_week_and_part_of_day(engine: BuiltinEngine, store: SqliteStore) -> None:
    c = talk(engine, store, tenant=EN)
    c.respond("i'd like an appointment thursday week at half two")
    r = c.respond("john smith")
    assert "Thursday 10 December at 2:30 pm" in said(r)
    c.respond("yes")
    [appt] = booked(store, EN)
    assert appt.starts_at == at(EN, 2026, 12, 10, 14, 30)
