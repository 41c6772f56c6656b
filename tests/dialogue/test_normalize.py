"""Spoken French and English, as an ASR writes it, to values — with a fixed "now".

Now is Thursday 2026-11-26 10:00 in the tenant's zone (Europe/Paris / Europe/London).
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from agi.config import settings_from_dict
from agi.dialogue import normalize as n

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=PARIS)


@pytest.mark.parametrize("text, expected_date, expected_time", [
    ("le douze mars à quinze heures trente", date(2027, 3, 12), time(15, 30)),
    ("le 12 mars à 15 heures 30", date(2027, 3, 12), time(15, 30)),
    ("mardi prochain à dix heures", date(2026, 12, 1), time(10, 0)),
    ("demain matin", date(2026, 11, 27), None),  # and the morning as a window (test_when)
    ("jeudi à quatorze heures", date(2026, 12, 3), time(14, 0)),
    ("à midi", None, time(12, 0)),
    ("midi et demi", None, time(12, 30)),
    ("quinze heures", None, time(15, 0)),
    ("dix heures et quart", None, time(10, 15)),
    ("onze heures moins le quart", None, time(10, 45)),
    ("neuf heures et demie", None, time(9, 30)),
    ("euh je voudrais un rendez-vous jeudi à dix heures", date(2026, 12, 3), time(10, 0)),
    ("bah non plutôt à onze heures", None, time(11, 0)),
    ("le premier décembre à neuf heures", date(2026, 12, 1), time(9, 0)),
    ("mardi premier à dix heures", date(2026, 12, 1), time(10, 0)),
    ("le trois", date(2026, 12, 3), None),
    ("vendredi", date(2026, 11, 27), None),
    ("à trois heures", None, time(15, 0)),  # a bare 1..7 o'clock is the afternoon
    ("huit heures du soir", None, time(20, 0)),
    ("après-demain à neuf heures et demie", date(2026, 11, 28), time(9, 30)),
    ("un rendez-vous le deux décembre", date(2026, 12, 2), None),
    ("je voudrais un rendez-vous", None, None),
    ("le deuxième", None, None),  # a choice among offered slots, not the 2nd
])
def test_french_dates_and_times(text: str, expected_date: date | None, expected_time: time | None) -> None:
    when = n.parse_when(text, "fr", NOW)
    assert (when.date, when.time, when.past, when.ambiguous) == (expected_date, expected_time, False, ())


@pytest.mark.parametrize("text, expected_date, expected_time", [
    ("next tuesday at half past three", date(2026, 12, 1), time(15, 30)),
    ("tomorrow at ten am", date(2026, 11, 27), time(10, 0)),
    ("tomorrow at ten a m", date(2026, 11, 27), time(10, 0)),
    ("three thirty pm", None, time(15, 30)),
    ("on monday at nine", date(2026, 11, 30), time(9, 0)),
    ("friday the fourth at eleven", date(2026, 12, 4), time(11, 0)),
    ("the third of december at two", date(2026, 12, 3), time(14, 0)),
    ("december third at quarter to ten", date(2026, 12, 3), time(9, 45)),
    ("at noon", None, time(12, 0)),
    ("at ten o'clock", None, time(10, 0)),
    ("uh i would like an appointment on thursday at two thirty", date(2026, 12, 3), time(14, 30)),
    ("quarter past ten in the morning", None, time(10, 15)),
    ("the first one", None, None),  # a choice among offered slots, not the 1st
])
def test_english_dates_and_times(text: str, expected_date: date | None, expected_time: time | None) -> None:
    when = n.parse_when(text, "en", NOW)
    assert (when.date, when.time, when.past, when.ambiguous) == (expected_date, expected_time, False, ())


def test_bare_number_is_an_hour_only_when_the_time_was_asked() -> None:
    assert n.parse_time("dix", "fr") is None
    assert n.parse_time("dix", "fr", bare=True) == time(10, 0)
    assert n.parse_time("ten thirty", "en", bare=True) == time(10, 30)


def test_combine_is_aware_in_the_tenant_zone() -> None:
    dt = n.combine(date(2026, 12, 3), time(10, 30), "Europe/Paris")
    assert dt.utcoffset().total_seconds() == 3600  # type: ignore[union-attr]
    assert dt.tzinfo == PARIS


@pytest.mark.parametrize("text, lang, expected", [
    ("zéro six douze trente quatre cinquante six soixante dix huit", "fr", "+33612345678"),
    ("mon numéro c'est le zéro un quarante deux trente trois quarante quatre cinquante cinq", "fr", "+33142334455"),
    ("06 12 34 56 78", "fr", "+33612345678"),
    ("oh two oh seven nine four six oh double seven eight", "en", "+442079460778"),
    ("oh seven nine double one one two three four five six", "en", "+447911123456"),
    ("douze", "fr", None),
    ("zéro zéro zéro zéro zéro zéro zéro", "fr", None),
])
def test_phone_numbers(text: str, lang: str, expected: str | None) -> None:
    assert n.parse_phone(text, lang) == expected


@pytest.mark.parametrize("text, lang, expected", [
    ("le premier", "fr", 0), ("euh le deuxième", "fr", 1), ("le dernier", "fr", -1),
    ("the second one please", "en", 1), ("the last one", "en", -1), ("oui", "fr", None),
])
def test_choice(text: str, lang: str, expected: int | None) -> None:
    assert n.parse_choice(text, lang) == expected


def test_names_lose_their_lead_in() -> None:
    assert n.clean_name("euh c'est jean-pierre dupont", "fr") == "Jean-Pierre Dupont"
    assert n.clean_name("je m'appelle marie martin", "fr") == "Marie Martin"
    assert n.clean_name("my name is john smith", "en") == "John Smith"


def test_speaking_back() -> None:
    assert n.speak_datetime(n.combine(date(2026, 12, 3), time(10, 30), PARIS), "fr") == \
        "jeudi 3 décembre à 10 heures 30"
    assert n.speak_datetime(n.combine(date(2026, 12, 1), time(12, 0), PARIS), "fr") == "mardi 1er décembre à midi"
    assert n.speak_datetime(n.combine(date(2026, 12, 3), time(10, 30), PARIS), "en") == \
        "Thursday 3 December at 10:30 am"
    assert n.speak_time(time(15, 0), "en") == "3 pm"
    starts = [n.combine(date(2026, 12, 1), time(h, 0), PARIS) for h in (9, 10)]
    assert n.speak_choices(starts, "fr") == "mardi 1er décembre à 9 heures ou mardi 1er décembre à 10 heures"


def test_opening_hours_spoken_naturally() -> None:
    settings = settings_from_dict({"tenants": [{
        "id": "t", "name": "T", "services": [{"name": "c", "duration_min": 30}],
        "opening_hours": {"mon": ["09:00-12:00", "14:00-18:00"], "tue": ["09:00-12:00", "14:00-18:00"],
                          "wed": ["09:00-12:00"]}}]})
    assert n.speak_opening_hours(settings.tenants[0]) == (
        "Nous sommes ouverts du lundi au mardi de 9 heures à midi et de 14 heures à 18 heures, "
        "le mercredi de 9 heures à midi.")
