"""Spoken French and English, as an ASR writes it, turned into values — and values spoken back.

The heavy lifting is done by field libraries: ``text2num`` (``alpha2digit``) turns number
words into digits, ``dateparser`` resolves day and month names and relative words
(RELATIVE_BASE = the call's "now" in the tenant time zone, future dates preferred) and
``phonenumbers`` validates phone numbers and formats them as E.164. What this module adds
is the preprocessing those libraries need for *spoken* input: dateparser returns ``None``
for "le 12 mars à 15 heures 30" or "mardi prochain", so the time part ("15 heures 30",
"dix heures et quart", "half past three") is found and removed first, and only the date
phrase (weekday, day, month, relative word) is handed to dateparser.

Dates and times are returned separately (:class:`When`) so that "jeudi" in one turn and
"à dix heures" in the next combine. Hours 1 to 7 said without a morning/afternoon marker
are read as afternoon (13 to 19 h): nobody books a 3 a.m. appointment at a surgery.

Speaking back uses dateparser's own locale tables for weekday and month names (Babel is
not installed); only the small sentence shapes ("jeudi 3 décembre à 10 heures 30",
"Thursday 3 December at 10:30 am") are written here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

import dateparser
from dateparser.languages.loader import default_loader

from agi.config import Tenant

# Re-exported: callers and tests use them as normalize.clean_name, normalize.parse_phone...
from agi.dialogue.names import clean_name, extract_name, of_name  # noqa: F401
from agi.dialogue.phones import parse_phone, speak_phone, to_e164  # noqa: F401
from agi.dialogue.text import clean, digits  # noqa: F401

_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Hour said without am/pm or matin/soir: 1..7 means afternoon at a business.
AFTERNOON_GUESS_MAX_HOUR = 7
# How far ahead a weekday + day number ("mardi 3") is searched for a matching month.
_MONTHS_AHEAD = 12


@dataclass(frozen=True)
class When:
    """What a caller's words said about a date and a time (either may be missing)."""

    date: date | None = None
    time: time | None = None


_FR_TIME = re.compile(
    r"\b(?P<h>\d{1,2})\s*(?:h|heures?)\b\s*"
    r"(?:(?P<quart>et quart)|(?P<demie>et demie?)|(?P<moinsq>moins le quart|moins quart)"
    r"|moins (?P<moins>\d{1,2})|(?P<m>\d{1,2})\b(?!\s*(?:h|heures?)\b))?")
_FR_NOON = re.compile(r"\b(?P<w>midi|minuit)(?:\s*(?P<demie>et demie?)|\s*(?P<quart>et quart)|\s+(?P<m>\d{1,2})\b)?")
_EN_PAST = re.compile(r"\b(?:(?P<half>half)|(?:a )?(?P<quart>quarter)|(?P<m>\d{1,2})(?: minutes?)?) (?P<dir>past|to|after|before) (?P<h>\d{1,2})\b")
_EN_TIME = re.compile(
    r"\b(?P<h>\d{1,2})(?:[: ](?P<m>\d{2}))?\s*(?:(?P<oc>o'? ?clock)|(?P<ap>[ap]\.? ?m\b\.?))")
_EN_HM = re.compile(r"\b(?P<h>\d{1,2}):(?P<m>\d{2})\b|\b(?:at|around|about) (?P<h2>\d{1,2})(?: (?P<m2>\d{2}))?\b(?! (?:st|nd|rd|th)\b)")
_EN_NOON = re.compile(r"\b(?:12 )?(?P<w>noon|midday|midnight)\b")
_FR_BARE = re.compile(r"\b(?:à|vers|a) (?P<h>\d{1,2})(?::(?P<m>\d{2}))?\b(?!\s*(?:er|ème|e)\b)(?! [a-zéû]{3,})")
_PM = re.compile(r"\b(?:après-midi|apres-midi|après midi|du soir|ce soir|soir|afternoon|evening|tonight|p\.? ?m)\b")
_AM = re.compile(r"\b(?:du matin|matin|morning|a\.? ?m)\b")


def _hour(h: int, text: str) -> int:
    if _PM.search(text) and h < 12:
        return h + 12
    if _AM.search(text) and h == 12:
        return 0
    if not _AM.search(text) and 1 <= h <= AFTERNOON_GUESS_MAX_HOUR:
        return h + 12
    return h


def _mk(h: int, m: int) -> time | None:
    if 0 <= h <= 23 and 0 <= m <= 59:
        return time(h, m)
    if h == 24 and m == 0:
        return time(0, 0)
    return None


def find_time(text: str, lang: str, *, bare: bool = False) -> tuple[time, tuple[int, int]] | None:
    """The first time of day in ``text`` (already through :func:`digits`) and its span.

    ``bare`` also accepts a lone number ("à 10", "at 10", or just "10") — used when the
    form has just asked for the time, where a bare number can only be an hour.
    """
    t = text
    if lang == "fr":
        m = _FR_NOON.search(t)
        if m:
            h = 12 if m["w"] == "midi" else 0
            mins = 30 if m["demie"] else 15 if m["quart"] else int(m["m"] or 0)
            v = _mk(h, mins)
            if v:
                return v, m.span()
        m = _FR_TIME.search(t)
        if m:
            h = _hour(int(m["h"]), t)
            if m["quart"]:
                v = _mk(h, 15)
            elif m["demie"]:
                v = _mk(h, 30)
            elif m["moinsq"]:
                v = _mk(h - 1, 45)
            elif m["moins"]:
                v = _mk(h - 1, 60 - int(m["moins"]))
            else:
                v = _mk(h, int(m["m"] or 0))
            if v:
                return v, m.span()
        pats = [_FR_BARE] + ([re.compile(r"^(?P<h>\d{1,2})(?:[: ](?P<m>\d{2}))?$")] if bare else [])
    else:
        m = _EN_NOON.search(t)
        if m:
            return time(12 if m["w"] != "midnight" else 0, 0), m.span()
        m = _EN_PAST.search(t)
        if m:
            mins = 30 if m["half"] else 15 if m["quart"] else int(m["m"])
            h = _hour(int(m["h"]), t)
            v = _mk(h, mins) if m["dir"] in ("past", "after") else _mk(h - 1, 60 - mins)
            if v:
                return v, m.span()
        m = _EN_TIME.search(t)
        if m:
            h, mins = int(m["h"]), int(m["m"] or 0)
            if m["ap"]:
                h = h % 12 + (12 if m["ap"].startswith("p") else 0)
            else:
                h = _hour(h, t)
            v = _mk(h, mins)
            if v:
                return v, m.span()
        pats = [_EN_HM] + ([re.compile(r"^(?P<h>\d{1,2})(?:[: ](?P<m>\d{2}))?$")] if bare else [])
    for pat in pats:
        m = pat.search(t)
        if m:
            h = int(m.group("h") or m.groupdict().get("h2") or 0)
            mins = int(m.group("m") or m.groupdict().get("m2") or 0)
            v = _mk(_hour(h, t) if not (pat is _EN_HM and m["h"]) else h, mins)
            if v:
                return v, m.span()
    return None


def parse_time(text: str, lang: str, *, bare: bool = False) -> time | None:
    """The time of day said in ``text`` ("quinze heures trente" -> 15:30), or None."""
    found = find_time(digits(clean(text), lang), lang, bare=bare)
    return found[0] if found else None


# ---------------------------------------------------------------------------------- dates

@lru_cache(maxsize=4)
def _names(lang: str) -> tuple[tuple[tuple[str, ...], ...], tuple[tuple[str, ...], ...]]:
    """Month and weekday names (and abbreviations) from dateparser's locale data."""
    info = default_loader.get_locale(lang).info
    months = tuple(tuple(info[m]) for m in _MONTHS)
    days = tuple(tuple(info[d]) for d in _WEEKDAYS)
    return months, days


@lru_cache(maxsize=4)
def _date_pattern(lang: str) -> re.Pattern[str]:
    months, days = _names(lang)
    mo = "|".join(sorted({n for ns in months for n in ns if len(n) > 2}, key=len, reverse=True))
    wd = "|".join(sorted({n for ns in days for n in ns if len(n) > 3}, key=len, reverse=True))
    num = r"\d{1,2}(?:er|ème|e|st|nd|rd|th)?"
    if lang == "fr":
        rel = r"après-demain|apres-demain|après demain|aujourd'hui|demain|dans \d+ jours?"
        body = (rf"(?:(?:{wd})(?: prochain)?(?: (?:le )?{num})?(?: (?:{mo})\.?)?(?: \d{{4}})?"
                rf"|(?:le )?{num} (?:{mo})\.?(?: \d{{4}})?|\ble \d{{1,2}}(?:er)?\b)")
    else:
        rel = r"the day after tomorrow|day after tomorrow|tomorrow|today|in \d+ days?"
        body = (rf"(?:(?:next |this )?(?:{wd})(?: (?:the )?{num})?(?: (?:of )?(?:{mo})\.?)?(?: \d{{4}})?"
                rf"|(?:the )?{num} (?:of )?(?:{mo})\.?(?: \d{{4}})?|(?:{mo}) (?:the )?{num}(?: \d{{4}})?"
                rf"|\bthe {num}\b(?! (?:ones?|1)\b))")
    return re.compile(rf"\b(?:{rel}|{body})", re.IGNORECASE)


def _dateparser(phrase: str, lang: str, now: datetime) -> date | None:
    settings = {"RELATIVE_BASE": now.replace(tzinfo=None), "PREFER_DATES_FROM": "future",
                "PREFER_DAY_OF_MONTH": "first", "RETURN_AS_TIMEZONE_AWARE": False}
    parsed = dateparser.parse(phrase, languages=[lang], settings=settings)  # type: ignore[arg-type]
    return parsed.date() if parsed else None


def _weekday_in(phrase: str, lang: str) -> int | None:
    _, days = _names(lang)
    for i, names in enumerate(days):
        if any(re.search(rf"\b{re.escape(n)}\b", phrase) for n in names if len(n) > 3):
            return i
    return None


def find_date(text: str, lang: str, now: datetime) -> tuple[date, tuple[int, int]] | None:
    """The first date in ``text`` (already through :func:`digits`) and its span, or None."""
    m = _date_pattern(lang).search(text)
    if not m:
        return None
    phrase = m.group(0).strip()
    today = now.date()
    # dateparser does not know "mardi prochain" / "next tuesday": a weekday alone already
    # means the next one in the future.
    phrase_dp = re.sub(r"\b(?:prochain|next|this)\b", "", phrase).strip()
    phrase_dp = re.sub(r"\b(\d{1,2})(?:ème|e|st|nd|rd|th)\b", r"\1", phrase_dp)
    phrase_dp = re.sub(r"^(?:le|the) ", "", phrase_dp)
    day_num = re.search(r"\b(\d{1,2})(?:er)?\b", phrase_dp)
    weekday = _weekday_in(phrase, lang)
    months, _ = _names(lang)
    has_month = any(re.search(rf"\b{re.escape(n)}\b", phrase) for ns in months for n in ns if len(n) > 2)
    if day_num and not has_month:
        # "le 3" / "mardi 3": the next 3rd (whose weekday matches, if one was said).
        day = int(day_num.group(1))
        found = _next_day_of_month(today, day, weekday)
        return (found, m.span()) if found else None
    parsed = _dateparser(phrase_dp.replace("1er", "1"), lang, now)
    if parsed is None:
        return None
    if parsed < today:  # "12 mars" said in November means next year's
        try:
            parsed = parsed.replace(year=parsed.year + 1)
        except ValueError:
            return None
    return parsed, m.span()


def _next_day_of_month(today: date, day: int, weekday: int | None) -> date | None:
    year, month = today.year, today.month
    for _ in range(_MONTHS_AHEAD + 1):
        try:
            d = date(year, month, day)
        except ValueError:
            d = None
        if d and d >= today and (weekday is None or d.weekday() == weekday):
            return d
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return None


def parse_date(text: str, lang: str, now: datetime) -> date | None:
    """The date said in ``text`` ("mardi prochain", "le douze mars", "tomorrow"), or None."""
    found = find_date(digits(clean(text), lang), lang, now)
    return found[0] if found else None


def parse_when(text: str, lang: str, now: datetime, *, bare_time: bool = False) -> When:
    """Date and time said in ``text``, each None when not said.

    The time is found first and cut out, so "le 12 mars à 15 heures 30" gives dateparser
    only "le 12 mars".
    """
    t = digits(clean(text), lang)
    tm = find_time(t, lang, bare=bare_time)
    if tm:
        t = t[: tm[1][0]] + " " + t[tm[1][1]:]
    d = find_date(t, lang, now)
    return When(d[0] if d else None, tm[0] if tm else None)


def combine(d: date, t: time, tz: ZoneInfo | str) -> datetime:
    """An aware datetime in the tenant's zone."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return datetime.combine(d, t, tzinfo=zone)


# --------------------------------------------------------------------------------- phones

# ------------------------------------------------------------------------------- ordinals

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


# ---------------------------------------------------------------------------- speak back

def _name(kind: tuple[tuple[str, ...], ...], index: int, lang: str) -> str:
    names = kind[index]
    full = max(names, key=len)
    return full if lang == "fr" else full.capitalize()


def speak_date(d: date, lang: str) -> str:
    """"jeudi 3 décembre" / "Thursday 3 December"."""
    months, days = _names(lang)
    day = "1er" if (lang == "fr" and d.day == 1) else str(d.day)
    return f"{_name(days, d.weekday(), lang)} {day} {_name(months, d.month - 1, lang)}"


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

