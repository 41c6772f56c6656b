"""agi.dialogue.when with literal reference moments: the result type, the flags, the slot
values, the canonical text and phone-number masking (the corpora cover the phrasings)."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from agi.dialogue import normalize
from agi.dialogue.when import When, canonical, parse_time, parse_when, slot_values

MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))
SATURDAY_EVENING = datetime(2026, 11, 28, 19, 0, tzinfo=ZoneInfo("Europe/London"))


def test_the_issue_failures_are_read_right() -> None:
    assert parse_when("demain après-midi à quinze heures", "fr", MONDAY) == When(date(2026, 12, 1), time(15))
    assert parse_when("un rendez-vous à neuf heures", "fr", MONDAY).time == time(9)
    assert parse_when("mercredi neuf décembre", "fr", MONDAY).date == date(2026, 12, 9)
    assert parse_when("dans trois jours", "fr", MONDAY).date == date(2026, 12, 3)
    assert parse_when("in three days", "en", MONDAY).date == date(2026, 12, 3)
    assert parse_when("jeudi en huit", "fr", MONDAY).date == date(2026, 12, 10)
    assert parse_when("jeudi dans deux semaines", "fr", MONDAY).date == date(2026, 12, 17)
    assert parse_when("thursday week", "en", MONDAY).date == date(2026, 12, 10)
    assert parse_when("half two", "en", MONDAY).time == time(14, 30)
    assert parse_when("ten in the morning", "en", MONDAY).time == time(10)
    assert parse_when("en fin de matinée", "fr", MONDAY).window == (time(10), time(12))
    assert not parse_when("zéro six douze trente-quatre cinquante-six", "fr", MONDAY).said


def test_a_range_carries_days_and_a_window_never_a_made_up_time() -> None:
    when = parse_when("early next week in the afternoon", "en", MONDAY)
    assert when == When(days=(date(2026, 12, 7), date(2026, 12, 8)), window=(time(13), time(18)))
    assert slot_values(when) == {"date": "2026-12-07/2026-12-08", "time": "13:00-18:00"}


def test_past_keeps_the_past_day_so_it_can_be_refused() -> None:
    when = parse_when("hier à dix heures", "fr", MONDAY)
    assert when.past and when.date == date(2026, 11, 29)
    assert parse_when("aujourd'hui à huit heures", "fr", MONDAY).past
    assert not parse_when("aujourd'hui à dix heures", "fr", MONDAY).past
    assert parse_when("this afternoon", "en", SATURDAY_EVENING).past


def test_ambiguity_names_what_to_ask_and_the_candidates() -> None:
    when = parse_when("mardi neuf", "fr", MONDAY)
    assert when.ambiguous == ("date",) and when.dates == (date(2026, 12, 9), date(2026, 12, 8))
    assert slot_values(when) == {"date": "?2026-12-09|2026-12-08"}
    assert normalize.speak_candidates(slot_values(when)["date"], "fr") == \
        "mercredi 9 décembre ou mardi 8 décembre"
    when = parse_when("à sept heures", "fr", MONDAY)
    assert when.ambiguous == ("time",) and when.times == (time(7), time(19))
    assert normalize.speak_candidates(slot_values(when)["time"], "en") == "7 am or 7 pm"
    assert parse_when("le trente et un novembre", "fr", MONDAY).ambiguous == ("date",)


def test_moving_reads_the_new_day_not_the_old_one() -> None:
    when = parse_when("de mardi à jeudi à dix heures", "fr", MONDAY, moving=True)
    assert (when.date, when.time) == (date(2026, 12, 3), time(10))
    assert parse_when("de mardi à jeudi", "fr", MONDAY).days == (date(2026, 12, 1), date(2026, 12, 3))


def test_a_lone_number_is_an_hour_only_when_the_time_was_asked() -> None:
    assert parse_time("dix", "fr") is None and parse_time("dix", "fr", bare=True) == time(10)
    assert parse_time("deux", "fr", bare=True) == time(14)


@pytest.mark.parametrize("text, lang, expected", [
    ("Euh, le Mercredi 9 Décembre à 15h30 !", "fr", "le mercredi 9 decembre a 15 h 30"),
    ("quatre-vingt-dix-sept", "fr", "97"),
    ("soixante et onze", "fr", "71"),
    ("septante-deux ou nonante ou huitante", "fr", "72 ou 90 ou 80"),
    ("le vingt et un", "fr", "le 21"),
    ("le premier le deuxième", "fr", "le 1e le 2ieme"),
    ("deux mille vingt-sept", "fr", "2027"),
    ("um the twenty first of may", "en", "the 21e of may"),
    ("ten oh five", "en", "10 0 5"),
    ("nine o'clock", "en", "9 o clock"),
    ("oh seven seven double oh nine", "en", "#"),
    ("zéro six douze trente-quatre", "fr", "#"),
    ("06 12 34 56 78 demain", "fr", "# demain"),
])
def test_canonical_text(text: str, lang: str, expected: str) -> None:
    assert canonical(text, lang) == expected


def test_long_input_is_read_in_linear_time_without_error() -> None:
    text = "euh demain " * 2000 + "à dix heures"
    assert parse_when(text, "fr", MONDAY).time == time(10)
