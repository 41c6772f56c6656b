"""Days in canonical text (:mod:`.lexicon`): relative days and weeks, weekdays, day numbers,
months — each mention a :class:`Days` span of one or several days, past or ambiguous.

Rules a receptionist follows, written once here:

- a weekday alone is the next one after today ("lundi" said on a Monday is next Monday; "ce
  lundi" / "this monday" is today); "vendredi prochain" / "next friday" is the coming Friday
  (the project's convention, nlu/tests/conversations_*.yml);
- "jeudi en huit" / "thursday week" / "a week on thursday" are the Thursday after the coming
  one, "jeudi en quinze" one more week on; "jeudi dans deux semaines" is the Thursday of the
  week two weeks from today; "dans huit jours" is a week, "dans quinze jours" two;
- weeks run Monday to Sunday: "début de semaine" is Monday-Tuesday, "milieu" Tuesday-Thursday,
  "fin" Thursday-Saturday; a month's "début" is the 1st-10th, "mi" 11th-20th, "fin" 21st-end;
- a day number alone earlier than today means next month's, except the three days just gone
  (asked: the caller may mean the past); a weekday that does not match the day number
  ("mardi neuf" when the 9th is a Wednesday) is asked, never guessed;
- a day and month (or a month) already past this year are past when within the last
  :data:`PAST_WINDOW_DAYS` days, else next year's.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

# A day or month said this many days ago or fewer is the past, not next year's.
PAST_WINDOW_DAYS = 90
# A day number alone this many days before today is asked (past, or next month's?).
RECENT_DAYS = 3

WEEKDAYS = {
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "en": ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
}
MONTHS = {
    "fr": ("janvier", "fevrier", "mars", "avril", "mai", "juin", "juillet", "aout", "septembre",
           "octobre", "novembre", "decembre"),
    "en": ("january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december"),
}


@dataclass(frozen=True)
class Days:
    """One mention of days: ``first``..``last`` (equal for one day), or candidates to ask."""

    first: date | None = None
    last: date | None = None
    past: bool = False
    candidates: tuple[date, ...] = ()  # the days to ask about, when ambiguous
    span: tuple[int, int] = (0, 0)
    ambiguous: bool = False


def week_start(d: date) -> date:
    return d - timedelta(days=d.weekday())


def next_weekday(today: date, wd: int, *, include_today: bool = False) -> date:
    ahead = (wd - today.weekday()) % 7
    if ahead == 0 and not include_today:
        ahead = 7
    return today + timedelta(days=ahead)


def one(d: date) -> Days:
    return Days(d, d)


def span_of(first: date, last: date, today: date) -> Days:
    """``first``..``last`` clipped to start today; past when it ended before today."""
    if last < today:
        return Days(first, last, past=True)
    return Days(max(first, today), last)


def past(today: date) -> Days:
    return Days(today - timedelta(days=1), today - timedelta(days=1), past=True)


def _safe(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _year(y: str | None) -> int | None:
    if not y:
        return None
    digits = y.replace(" ", "")
    return int(digits) if len(digits) == 4 else None


def day_month(today: date, day: int, month: int, year: int | None) -> Days:
    """"le 12 mars": this year's, past when just gone, else next year's; a date that does not
    exist ("31 novembre") is asked."""
    d = _safe(year or today.year, month, day)
    if d is None:
        return Days(ambiguous=True)
    if year is None and d < today:
        if (today - d).days <= PAST_WINDOW_DAYS:
            return Days(d, d, past=True)
        d = _safe(d.year + 1, month, day)
        if d is None:
            return Days(ambiguous=True)
    return Days(d, d, past=d < today)


def day_number(today: date, day: int) -> Days:
    """"le neuf" alone: this month's if still ahead, the recent past asked, else next month's."""
    if not 1 <= day <= 31:
        return Days()
    this = _safe(today.year, today.month, day)
    if this is not None and this >= today:
        return one(this)
    year, month = today.year, today.month
    nxt = None
    for _ in range(12):
        month, year = (1, year + 1) if month == 12 else (month + 1, year)
        nxt = _safe(year, month, day)
        if nxt:
            break
    if nxt is None:
        return Days()
    if this is not None and (today - this).days <= RECENT_DAYS:
        return Days(candidates=(this, nxt), ambiguous=True)
    return one(nxt)


def with_weekday(found: Days, wd: int) -> Days:
    """A weekday said with a day number: kept when they agree, else both asked."""
    if found.first is None or found.past or found.ambiguous:
        return found
    if found.first.weekday() == wd:
        return found
    other = week_start(found.first) + timedelta(days=wd)
    return Days(candidates=(found.first, other), ambiguous=True)


def month_part(today: date, month: int, part: str | None, year: int | None) -> Days:
    """A month or part of it ("début janvier"), this year's or next year's."""
    y = year or today.year
    last_day = calendar.monthrange(y, month)[1]
    first, last = _part_bounds(part, last_day)
    start, end = date(y, month, first), date(y, month, last)
    if year is None and end < today and (today - end).days > PAST_WINDOW_DAYS:
        y += 1
        last_day = calendar.monthrange(y, month)[1]
        first, last = _part_bounds(part, last_day)
        start, end = date(y, month, first), date(y, month, last)
    return span_of(start, end, today)


def _part_bounds(part: str | None, last_day: int) -> tuple[int, int]:
    if part in ("debut", "early", "beginning", "start"):
        return 1, 10
    if part in ("mi", "milieu", "mid", "middle"):
        return 11, 20
    if part in ("fin", "late", "end"):
        return 21, last_day
    return 1, last_day


def week_part(today: date, start: date, part: str | None) -> Days:
    """Part of the week beginning ``start`` (Monday)."""
    first, last = {"debut": (0, 1), "early": (0, 1), "beginning": (0, 1), "start": (0, 1),
                   "milieu": (1, 3), "middle": (1, 3), "mid": (1, 3),
                   "fin": (3, 5), "end": (3, 5), "late": (3, 5)}.get(part or "", (0, 6))
    return span_of(start + timedelta(days=first), start + timedelta(days=last), today)


def next_month(today: date, part: str | None) -> Days:
    y, m = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return month_part(today, m, part, y)


def add_months(today: date, n: int) -> date:
    y, m = divmod(today.month - 1 + n, 12)
    year, month = today.year + y, m + 1
    return date(year, month, min(today.day, calendar.monthrange(year, month)[1]))


Rule = tuple[re.Pattern[str], Callable[[re.Match[str], date], Days]]


# Handlers both grammars share; their matches name the groups wd, d, mo, y.
def said_day(m: re.Match[str], today: date, lang: str) -> Days:
    """A day number, with its month (and year) if said, with its weekday if said."""
    month = MONTHS[lang].index(m["mo"]) + 1 if m["mo"] else None
    found = (day_month(today, int(m["d"]), month, _year(m["y"])) if month
             else day_number(today, int(m["d"])))
    wd = m.groupdict().get("wd")
    return found if found.ambiguous or not wd else with_weekday(found, WEEKDAYS[lang].index(wd))


def week_of(m: re.Match[str], today: date, lang: str) -> Days:
    """"la semaine du 14", "the week of the fourteenth": Monday to Sunday around that day."""
    month = MONTHS[lang].index(m["mo"]) + 1 if m["mo"] else None
    found = day_month(today, int(m["d"]), month, None) if month else day_number(today, int(m["d"]))
    if found.first is None:
        return found
    start = week_start(found.first)
    return span_of(start, start + timedelta(days=6), today)


# "après le quinze": a range from the next day, this long (the search offers what is free in it).
AFTER_DAY_SPAN = 7


def after_day(found: Days, today: date, *, inclusive: bool) -> Days:
    """"après le quinze" (from the 16th) or "à partir du quinze" (from the 15th), for a week."""
    if found.first is None:
        return found
    first = found.first if inclusive else found.first + timedelta(days=1)
    return span_of(first, first + timedelta(days=AFTER_DAY_SPAN - 1), today)


def until_week_end(today: date) -> Days:
    """"d'ici la fin de la semaine", "by the end of the week": today to Sunday."""
    return span_of(today, week_start(today) + timedelta(days=6), today)


def following_weekday(today: date, wd: int) -> Days:
    """"le jeudi d'après", "the thursday after": not the coming one, the one after it."""
    return one(next_weekday(today, wd) + timedelta(days=7))


def scan(text: str, rules: list[Rule], today: date) -> list[Days]:
    """Every day mention of ``text``, left to right; each rule's matches are blanked before
    the next rule runs, so a longer phrase is never read again in part."""
    found: list[Days] = []
    for pattern, build in rules:
        for m in list(pattern.finditer(text)):
            days = build(m, today)
            if days.first is None and not days.ambiguous:
                continue
            found.append(Days(days.first, days.last, days.past, days.candidates, m.span(), days.ambiguous))
            text = text[:m.start()] + "|" * (m.end() - m.start()) + text[m.end():]
    return sorted(found, key=lambda d: d.span)
