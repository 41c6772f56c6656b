"""Dates and times as callers say them on the phone, French and English, sans-IO.

``parse_when(text, lang, now)`` reads what a recogniser wrote ("euh demain après-midi à
quinze heures", "thursday week at half two") against ``now`` (an aware datetime in the
tenant's time zone: the reference moment is passed in, nothing reads a clock) and returns a
:class:`When`: a day or a range of days, a time or a time window, and two flags the
dialogue must act on — ``past`` (never booked, the caller is told) and ``ambiguous`` (with
the candidates, so a short question is asked instead of a guess).

The pipeline: :mod:`.lexicon` folds the text to one canonical form (numbers as digits,
phone-number-like digit runs masked), :mod:`.clock` finds times, ranges and parts of the day,
:mod:`.days` with :mod:`.rules_fr` / :mod:`.rules_en` find the days. Every stage is a fixed
list of regular expressions run once over the sentence: linear in its length.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from agi.dialogue.when import clock, days, lexicon, rules_en, rules_fr

__all__ = ["When", "parse_when", "parse_date", "parse_time", "combine", "slot_values",
           "canonical"]

canonical = lexicon.canonical
# The word before the current date or time of an appointment, in "move it from ... to ...".
_FROM = re.compile(r"\b(?:de|du|d|from)\s*\|*\s*$")


@dataclass(frozen=True)
class When:
    """What a caller's words said about when (every part may be missing).

    ``date``/``time`` are exact; ``days`` (earliest, latest) and ``window`` (from, to) are set
    instead when the caller gave a range ("la semaine prochaine", "en fin de matinée").
    ``past``: what was said is already over (``date`` then holds the past day). ``ambiguous``
    names what must be asked ("date", "time"), ``dates``/``times`` the candidates (may be
    empty when the value is impossible, e.g. "31 novembre").
    """

    # dt.*: inside the class body the fields date/time would shadow the types.
    date: dt.date | None = None
    time: dt.time | None = None
    days: tuple[dt.date, dt.date] | None = None
    window: tuple[dt.time, dt.time] | None = None
    past: bool = False
    ambiguous: tuple[str, ...] = ()
    dates: tuple[dt.date, ...] = ()
    times: tuple[dt.time, ...] = ()

    @property
    def said(self) -> bool:
        """True when anything about a day or a time was said."""
        return bool(self.date or self.time or self.days or self.window or self.past
                    or self.ambiguous)


def _rules(lang: str) -> list[days.Rule]:
    return rules_en.RULES if lang == "en" else rules_fr.RULES


def _not_from(text: str, span: tuple[int, int]) -> bool:
    return not _FROM.search(text[:span[0]])


def _day_part(found: list[days.Days]) -> dict[str, object]:
    if not found:
        return {}
    unsure = [f for f in found if f.ambiguous]
    if unsure:
        return {"ambiguous": ("date",), "dates": unsure[0].candidates}
    gone = [f for f in found if f.past]
    if gone:
        return {"past": True, "date": gone[0].last}
    spans = [(f.first, f.last) for f in found if f.first is not None and f.last is not None]
    if not spans:
        return {}
    firsts, lasts = [a for a, _ in spans], [b for _, b in spans]
    singles = {a for a, b in spans if a == b}
    if len(singles) == 1 and all(a <= min(singles) <= b for a, b in spans):
        return {"date": min(singles)}  # one day, said again inside a range ("lundi de ...")
    first, last = min(firsts), max(lasts)
    return {"date": first} if first == last else {"days": (first, last)}


def _time_part(found: list[clock.Clock]) -> dict[str, object]:
    exact = [c for c in found if c.times]
    if exact:
        if len(exact[0].times) > 1:
            return {"ambiguous": ("time",), "times": exact[0].times}
        return {"time": exact[0].times[0]}
    windows = [c.window for c in found if c.window]
    return {"window": windows[0]} if windows else {}


def parse_when(text: str, lang: str, now: datetime, *, bare_time: bool = False,
               moving: bool = False, moved_from: bool = False) -> When:
    """Date and time said in ``text`` at ``now`` (aware, tenant time zone).

    ``bare_time``: the dialogue has just asked for the time, so a lone number is an hour.
    ``moving``: the caller is moving an appointment ("de mardi à jeudi"): what follows
    "de"/"du"/"from" is the old day or time and is left out; the last one said is the new.
    ``moved_from``: the other way round, only what follows "de"/"du"/"from" (the day or time
    of the appointment being moved, which names it).
    """
    canon = lexicon.canonical(text, lang)
    clocks, rest = clock.find_clock(canon, lang, bare=bare_time)
    found = days.scan(rest, _rules(lang), now.date())
    if moving:
        found = [f for f in found if _not_from(canon, f.span)][-1:]
        clocks = [c for c in clocks if _not_from(canon, c.span)][-1:]
    elif moved_from:
        found = [f for f in found if not _not_from(canon, f.span)][-1:]
        clocks = [c for c in clocks if not _not_from(canon, c.span)][-1:]
    parts: dict[str, object] = {}
    parts.update(_time_part(clocks))
    day = _day_part(found)
    parts["ambiguous"] = tuple(day.pop("ambiguous", ())) + tuple(parts.get("ambiguous", ()))  # type: ignore[arg-type]
    parts.update(day)
    when = When(**parts)  # type: ignore[arg-type]
    if when.date == now.date() and not when.past:
        over = (when.time is not None and when.time < now.time().replace(tzinfo=None)) or (
            when.window is not None and when.window[1] <= now.time().replace(tzinfo=None))
        if over:
            when = When(**{**parts, "past": True})  # type: ignore[arg-type]
    return when


def parse_date(text: str, lang: str, now: datetime) -> date | None:
    """The day said in ``text`` ("mardi prochain", "le douze mars", "tomorrow"), or None
    (also None for a range or an ambiguous day; a past day is returned, so it can be refused)."""
    when = parse_when(text, lang, now)
    return when.date if not when.ambiguous else None


def parse_time(text: str, lang: str, *, bare: bool = False) -> time | None:
    """The time of day said in ``text`` ("quinze heures trente" -> 15:00), or None."""
    canon = lexicon.canonical(text, lang)
    clocks, _ = clock.find_clock(canon, lang, bare=bare)
    found = _time_part(clocks)
    value = found.get("time")
    return value if isinstance(value, time) else None


def combine(d: date, t: time, tz: ZoneInfo | str) -> datetime:
    """An aware datetime in the tenant's zone."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return datetime.combine(d, t, tzinfo=zone)


def slot_values(when: When) -> dict[str, str]:
    """``when`` as the dialogue's ``date``/``time`` slot values (plain strings, so they survive
    a Rasa tracker store): ``YYYY-MM-DD`` or a range ``YYYY-MM-DD/YYYY-MM-DD``; ``HH:MM`` or a
    window ``HH:MM-HH:MM``; an ambiguous value is ``?`` and its candidates joined by ``|``."""
    out: dict[str, str] = {}
    if "date" in when.ambiguous:
        out["date"] = "?" + "|".join(d.isoformat() for d in when.dates)
    elif when.date is not None:
        out["date"] = when.date.isoformat()
    elif when.days is not None:
        out["date"] = f"{when.days[0].isoformat()}/{when.days[1].isoformat()}"
    if "time" in when.ambiguous:
        out["time"] = "?" + "|".join(t.strftime("%H:%M") for t in when.times)
    elif when.time is not None:
        out["time"] = when.time.strftime("%H:%M")
    elif when.window is not None:
        out["time"] = f"{when.window[0]:%H:%M}-{when.window[1]:%H:%M}"
    return out
