"""Spoken French and English, as an ASR writes it, turned into values — and values spoken back.

Dates and times are understood by :mod:`agi.dialogue.when` (re-exported here: ``When``,
``parse_when``, ``parse_date``, ``parse_time``, ``combine``). This module keeps the rest:
``text2num`` (``alpha2digit``) for number words in other slots, ``phonenumbers`` to validate
phone numbers as E.164, names and choices, and speaking values back — with dateparser's locale
tables for weekday and month names (Babel is not installed); only the small sentence shapes
("jeudi 3 décembre à 10 heures 30", "Thursday 3 December at 10:30 am") are written here.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from functools import lru_cache

from dateparser.languages.loader import default_loader

from agi.config import Tenant
from agi.dialogue import when as when_mod

# Re-exported: callers and tests use them as normalize.clean_name, normalize.parse_phone...
from agi.dialogue.names import clean_name, extract_name, of_name  # noqa: F401
from agi.dialogue.phones import parse_phone, speak_phone, to_e164  # noqa: F401
from agi.dialogue.text import clean, digits  # noqa: F401
from agi.dialogue.when import When

__all__ = ["When", "parse_when", "parse_date", "parse_time", "combine", "speak_candidates", "slot_values", "digits",
           "clean", "parse_phone", "to_e164", "parse_choice", "clean_name", "speak_date",
           "speak_time", "speak_datetime", "speak_choices", "speak_opening_hours"]

_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# ------------------------------------------------------------------------ dates and times
# Understanding dates and times lives in agi.dialogue.when; its entry points stay here too.
parse_when = when_mod.parse_when
parse_date = when_mod.parse_date
parse_time = when_mod.parse_time
combine = when_mod.combine
slot_values = when_mod.slot_values


@lru_cache(maxsize=4)
def _names(lang: str) -> tuple[tuple[tuple[str, ...], ...], tuple[tuple[str, ...], ...]]:
    """Month and weekday names (and abbreviations) from dateparser's locale data."""
    info = default_loader.get_locale(lang).info
    months = tuple(tuple(info[m]) for m in _MONTHS)
    days = tuple(tuple(info[d]) for d in _WEEKDAYS)
    return months, days



_ORDINALS = {
    "fr": ((r"premier|première|1er|1ère|1re", 0), (r"deuxième|second|seconde|2ème|2e", 1),
           (r"troisième|3ème|3e", 2), (r"dernier|dernière", -1)),
    "en": ((r"first|1st", 0), (r"second|2nd", 1), (r"third|3rd", 2), (r"last", -1)),
}


def parse_choice(text: str, lang: str) -> int | None:
    """Which of the offered items the caller picked ("le premier" -> 0, "the last" -> -1)."""
    t = clean(text)
    for pattern, index in _ORDINALS[lang]:
        if re.search(rf"\b(?:{pattern})\b", t):
            return index
    return None



def _name(kind: tuple[tuple[str, ...], ...], index: int, lang: str) -> str:
    names = kind[index]
    full = max(names, key=len)
    return full if lang == "fr" else full.capitalize()


def speak_date(d: date, lang: str) -> str:
    """"jeudi 3 décembre" / "Thursday 3 December"."""
    months, days = _names(lang)
    day = "1er" if (lang == "fr" and d.day == 1) else str(d.day)
    return f"{_name(days, d.weekday(), lang)} {day} {_name(months, d.month - 1, lang)}"


def month_name(month: int, lang: str) -> str:
    """"décembre" / "December", for ``month`` 1-12."""
    months, _ = _names(lang)
    return _name(months, month - 1, lang)


def speak_time(t: time, lang: str) -> str:
    """"10 heures 30", "midi" / "10:30 am", "noon" — words a synthesiser reads well."""
    if lang == "fr":
        if t.hour == 12 and t.minute == 0:
            return "midi"
        return f"{t.hour} heures" + (f" {t.minute:02d}" if t.minute else "")
    if t.hour == 12 and t.minute == 0:
        return "noon"
    h = t.hour % 12 or 12
    return f"{h}:{t.minute:02d} {'am' if t.hour < 12 else 'pm'}" if t.minute else f"{h} {'am' if t.hour < 12 else 'pm'}"


def speak_datetime(dt: datetime, lang: str) -> str:
    """"jeudi 3 décembre à 10 heures 30" / "Thursday 3 December at 10:30 am"."""
    return f"{speak_date(dt.date(), lang)} {'à' if lang == 'fr' else 'at'} {speak_time(dt.time(), lang)}"


def speak_choices(starts: list[datetime], lang: str) -> str:
    """Offered slots joined as a caller hears them ("mardi 1er décembre à 10 heures ou ...")."""
    spoken = [speak_datetime(s, lang) for s in starts]
    if len(spoken) <= 1:
        return "".join(spoken)
    return ", ".join(spoken[:-1]) + (" ou " if lang == "fr" else " or ") + spoken[-1]


def speak_opening_hours(tenant: Tenant) -> str:
    """The tenant's opening hours as one natural sentence, days with equal hours grouped."""
    lang = tenant.language
    _, days = _names(lang)
    if not tenant.opening_hours:
        return ""
    groups: list[tuple[list[int], tuple[tuple[time, time], ...]]] = []
    for day in sorted(tenant.opening_hours):
        spans = tenant.opening_hours[day]
        if groups and groups[-1][1] == spans and groups[-1][0][-1] == day - 1:
            groups[-1][0].append(day)
        else:
            groups.append(([day], spans))
    parts = []
    for group_days, spans in groups:
        first, last = _name(days, group_days[0], lang), _name(days, group_days[-1], lang)
        if lang == "fr":
            who = f"du {first} au {last}" if len(group_days) > 1 else f"le {first}"
            hours = " et ".join(f"de {speak_time(a, lang)} à {speak_time(b, lang)}" for a, b in spans)
        else:
            who = f"{first} to {last}" if len(group_days) > 1 else f"on {first}"
            hours = " and ".join(f"from {speak_time(a, lang)} to {speak_time(b, lang)}" for a, b in spans)
        parts.append(f"{who} {hours}")
    joiner = ", " if lang == "fr" else "; "
    intro = "Nous sommes ouverts " if lang == "fr" else "We are open "
    return intro + joiner.join(parts) + "."



def speak_candidates(value: str, lang: str) -> str:
    """The candidates of an ambiguous slot value (``?2026-12-09|2026-12-08``, ``?07:00|19:00``,
    see :func:`agi.dialogue.when.slot_values`) as a question's choices ("mercredi 9 décembre ou
    mardi 8 décembre", "7 heures ou 19 heures"); empty when there are none."""
    spoken = []
    for raw in value.lstrip("?").split("|"):
        if "-" in raw:
            spoken.append(speak_date(date.fromisoformat(raw), lang))
        elif raw:
            spoken.append(speak_time(time.fromisoformat(raw), lang))
    return (" ou " if lang == "fr" else " or ").join(spoken)
