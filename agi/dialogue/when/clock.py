"""Times of day in canonical text (:mod:`.lexicon`): clock times, windows, parts of the day.

An hour said without a morning/afternoon word follows the business rule: 1 to 6 are
afternoon (13 to 18 h; nobody books a 3 a.m. appointment at a surgery), 8 to 11 morning, and
7 is asked (a bakery opens at 7, a surgery works until 19 h). A part of the day said anywhere
("demain après-midi à trois heures", "friday evening at seven") decides instead. "half two"
is British for 2:30, hence 14:30.

Vague times are windows, never a made-up time: "en fin de matinée" is 10:00-12:00, "après
dix-sept heures" 17:00-23:59 (the opening hours narrow it). A time said exactly wins over the
part of the day it sits in ("demain après-midi à quinze heures" is 15:00).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import time
from functools import lru_cache
from typing import Any

# The hours said alone that are read as afternoon, and the one that is asked.
AFTERNOON_HOURS = range(1, 7)
ASKED_HOUR = 7
END_OF_DAY = time(23, 59)

_T: dict[str, dict[str, Any]] = {
    "fr": {
        "atom": r"(?:midi|minuit|\d{1,2}(?: (?:heures?|h)\b)?"
                r"(?: (?:et quart|et demie?|moins (?:le )?quart|moins \d{1,2}|(?:0 )?\d{1,2}(?! (?:heures?|h)\b)))?)",
        "not_after": r"(?! (?:e|jours?|semaines?|mois|ans|personnes?)\b)",
        "between": r"\bentre (?P<a>{A}) et (?P<b>{A}){N}",
        "fromto": r"\bde (?P<a>{A}) (?:a|jusqu a) (?P<b>{A}){N}",
        "before": r"\b(?:pas apres|(?<!pas )avant|au plus tard a|jusqu a) (?P<b>{A}){N}",
        "after": r"\b(?:pas avant|a partir de|apres|plus tard que) (?!midi)(?P<a>{A}){N}",
        "times": (
            r"\b(?P<h>\d{1,2}) (?:heures?|h)\b(?: (?:(?P<mod>et quart|et demie?|moins (?:le )?quart)"
            r"|moins (?P<minus>\d{1,2})|(?:0 )?(?P<m>\d{1,2})(?! (?:h|heures?|jours?|semaines?|mois)\b)))?",
            r"(?<!apres )(?<!avant )\b(?P<noon>midi|minuit)(?: (?:(?P<mod>et quart|et demie?)"
            r"|(?P<m>\d{1,2})(?! (?:heures?|h)\b)))?",
            r"\b(?:a|vers) (?P<h>\d{1,2})\b"
            r"(?! (?:e|jours?|semaines?|mois|personnes?|ans|minutes|enfants|rue|avenue)\b)",
        ),
        "bare": r"^(?P<h>\d{1,2})(?: (?:heures?|h)\b)?(?: (?P<m>\d{1,2}))?$",
        "parts": (
            (r"\bdebut de (?:la )?matinee\b|\bdebut de (?:la )?journee\b|\btot le matin\b", (8, 0, 10, 0)),
            (r"\bmilieu de (?:la )?matinee\b", (9, 0, 11, 0)),
            (r"\bfin de (?:la )?matinee\b", (10, 0, 12, 0)),
            (r"\bdebut (?:d|de l) apres midi\b", (13, 0, 15, 0)),
            (r"\bmilieu (?:d|de l) apres midi\b", (14, 0, 16, 0)),
            (r"\bfin (?:d|de l) apres midi\b", (16, 0, 18, 0)),
            (r"\bfin de (?:la )?journee\b", (16, 0, 19, 0)),
            (r"\bapres (?:le |la pause (?:du )?|l heure du )?(?:dejeuner|manger|repas)\b", (14, 0, 18, 0)),
            (r"\bavant (?:le |la pause (?:du )?|l heure du )?(?:dejeuner|manger|repas)\b", (10, 0, 12, 0)),
            (r"\b(?:heure du dejeuner|pause (?:du )?dejeuner|heure de midi)\b", (12, 0, 14, 0)),
            (r"\b(?:apres midi|tantot|aprem)\b", (13, 0, 18, 0)),
            (r"\b(?:matinee|matin|matins)\b", (8, 0, 12, 0)),
            (r"\b(?:soiree|soir|soirs)\b", (18, 0, 21, 0)),
        ),
    },
    "en": {
        "atom": r"(?:noon|midday|midnight|half \d{1,2}|\d{1,2}(?: (?:0 \d|[1-5]\d))?(?: ?(?:am|pm|a m|p m|o clock))?)",
        "not_after": r"(?! (?:e|days?|weeks?|months?|years?|people|persons?)\b)",
        "between": r"\bbetween (?P<a>{A}) and (?P<b>{A}){N}",
        "fromto": r"\bfrom (?P<a>{A}) (?:to|till|until|til) (?P<b>{A}){N}",
        "before": r"\b(?:no later than|not after|(?<!not )before|by) (?P<b>{A}){N}",
        "after": r"\b(?:not before|any ?time after|after|from) (?P<a>{A}){N}(?: (?:onwards|on))?",
        "times": (
            r"\b(?P<h>\d{1,2})(?: (?:0 (?P<m0>\d)|(?P<m>[1-5]\d)))? ?(?P<ap>am|pm|a m|p m|o clock)\b",
            r"\b(?:(?P<half>half)|(?:a )?(?P<quarter>quarter)|(?P<mp>\d{1,2})(?: minutes?)?) "
            r"(?P<dir>past|after|to) (?P<h>\d{1,2})\b",
            r"\b(?:12 )?(?P<noon>noon|midday|midnight)\b",
            r"\b(?P<half>half) (?P<h>\d{1,2})\b",
            r"\b(?P<h>\d{1,2})(?: (?:0 (?P<m0>\d)|(?P<m>[1-5]\d)))?"
            r"(?= (?:in the (?:morning|afternoon|evening)|at night|tonight)\b)",
            r"\b(?:at|around|about|for|say|maybe|or) (?P<h>\d{1,2})(?: (?:0 (?P<m0>\d)|(?P<m>[1-5]\d)))?\b"
            r"(?! (?:e|days?|weeks?|months?|years?|people|persons?|minutes|children|kids)\b)",
            r"^(?P<h>\d{1,2}) (?:0 (?P<m0>\d)|(?P<m>[1-5]\d))\b",
        ),
        "bare": r"^(?P<h>\d{1,2})(?: (?:0 (?P<m0>\d)|(?P<m>\d{1,2})))?$",
        "parts": (
            (r"\bearly (?:in the )?morning\b|\bfirst thing(?: in the morning)?\b", (8, 0, 10, 0)),
            (r"\bmid ?morning\b", (9, 0, 11, 0)),
            (r"\blate (?:in the )?morning\b", (10, 0, 12, 0)),
            (r"\bearly (?:in the )?afternoon\b", (13, 0, 15, 0)),
            (r"\bmid ?afternoon\b", (14, 0, 16, 0)),
            (r"\blate (?:in the )?afternoon\b", (16, 0, 18, 0)),
            (r"\bend of the day\b", (16, 0, 19, 0)),
            (r"\bafter (?:lunch|lunchtime|lunch time)\b", (14, 0, 18, 0)),
            (r"\bbefore (?:lunch|lunchtime|lunch time)\b", (10, 0, 12, 0)),
            (r"\b(?:lunchtime|lunch time|lunch)\b", (12, 0, 14, 0)),
            (r"\bafternoons?\b", (13, 0, 18, 0)),
            (r"\bmornings?\b", (8, 0, 12, 0)),
            (r"\b(?:evenings?|tonight|at night)\b", (18, 0, 21, 0)),
        ),
    },
}


@dataclass(frozen=True)
class Clock:
    """What a sentence said about the time of day: one time, candidates, or a window."""

    times: tuple[time, ...] = ()  # one: a time; several: ambiguous (ask which)
    window: tuple[time, time] | None = None
    span: tuple[int, int] = (0, 0)


def _grammar(lang: str) -> dict[str, Any]:
    return _T["en" if lang == "en" else "fr"]


@lru_cache(maxsize=64)
def _re(lang: str, key: str, index: int | None = None) -> re.Pattern[str]:
    g = _grammar(lang)
    raw = g[key] if index is None else g[key][index]
    return re.compile(str(raw).replace("{A}", str(g["atom"])).replace("{N}", str(g["not_after"])))


def part_of_day(text: str, lang: str) -> tuple[tuple[time, time], tuple[int, int]] | None:
    """The first part of the day said ("en fin de matinée" -> 10:00-12:00) and its span."""
    best: tuple[tuple[time, time], tuple[int, int]] | None = None
    for raw, (h1, m1, h2, m2) in _grammar(lang)["parts"]:
        m = re.search(raw, text)
        if m and (best is None or m.start() < best[1][0]):
            best = ((time(h1, m1), time(h2, m2)), m.span())
    return best


def _marker(text: str, lang: str) -> str | None:
    """"am"/"pm" when a part of the day is said anywhere in ``text``."""
    found = part_of_day(text, lang)
    if found is None:
        return None
    return "pm" if found[0][0].hour >= 12 else "am"


def _hours(h: int, marker: str | None, suffix: str | None) -> tuple[int, ...]:
    if suffix in ("am", "a m"):
        return (h % 12,)
    if suffix in ("pm", "p m"):
        return (h % 12 + 12,)
    if h >= 12 or h == 0:
        return (h,)
    if marker == "pm":
        return (h + 12,)
    if marker == "am":
        return (h,)
    if h in AFTERNOON_HOURS:
        return (h + 12,)
    if h == ASKED_HOUR:
        return (h, h + 12)
    return (h,)


def _minus(hours: tuple[int, ...], minute: int, minus: int) -> tuple[time, ...]:
    out = []
    for h in hours:
        total = h * 60 + minute - minus
        if 0 <= total < 24 * 60 and 0 <= minute < 60:
            out.append(time(total // 60, total % 60))
    return tuple(out)


def read_time(m: re.Match[str], marker: str | None) -> tuple[time, ...]:
    """The candidate times of one matched clock expression (empty when it is no time)."""
    g = m.groupdict()
    if g.get("noon"):
        hours: tuple[int, ...] = (0,) if g["noon"] in ("minuit", "midnight") else (12,)
    elif g.get("h"):
        h = int(g["h"])
        if h > 24:
            return ()
        hours = _hours(h % 24, marker, g.get("ap"))
    else:
        return ()
    mod = g.get("mod") or ""
    minute, minus = int(g.get("m") or g.get("m0") or 0), 0
    if "quart" in mod:
        minute, minus = (0, 15) if mod.startswith("moins") else (15, 0)
    elif "demi" in mod or g.get("half"):
        minute = 30
    if g.get("minus"):
        minus = int(g["minus"])
    if g.get("dir"):
        said = 30 if g.get("half") else 15 if g.get("quarter") else int(g.get("mp") or 0)
        minute, minus = (said, 0) if g["dir"] in ("past", "after") else (0, said)
    if g.get("ap") == "o clock":
        hours = _hours(int(g["h"]) % 24, marker, None)
    return _minus(hours, minute, minus)


def _atom(text: str, lang: str, marker: str | None) -> tuple[time, ...]:
    for i in range(len(_grammar(lang)["times"])):
        m = _re(lang, "times", i).search(text)
        if m:
            return read_time(m, marker)
    m = _re(lang, "bare").search(text)
    return read_time(m, marker) if m else ()


def _range(text: str, lang: str, marker: str | None) -> Clock | None:
    for key in ("between", "fromto", "before", "after"):
        m = _re(lang, key).search(text)
        if not m:
            continue
        a = _atom(m["a"], lang, marker) if m.groupdict().get("a") else (time(0, 0),)
        b = _atom(m["b"], lang, marker) if m.groupdict().get("b") else (END_OF_DAY,)
        pairs = [(x, y) for x in a for y in b if x < y]
        if pairs:
            return Clock(window=pairs[0], span=m.span())
    return None


def times_in(text: str, lang: str, *, bare: bool = False) -> Iterator[Clock]:
    """Every clock time said in ``text`` (canonical), left to right; windows come from
    :func:`find_clock`. ``bare`` accepts a lone number ("10", "10 30")."""
    marker = _marker(text, lang)
    found: list[Clock] = []
    taken: list[tuple[int, int]] = []
    for i in range(len(_grammar(lang)["times"])):
        for m in _re(lang, "times", i).finditer(text):
            if any(s < m.end() and m.start() < e for s, e in taken):
                continue
            times = read_time(m, marker)
            if times:
                found.append(Clock(times=times, span=m.span()))
                taken.append(m.span())
    lone = _re(lang, "bare").search(text) if bare and not found else None
    if lone and read_time(lone, marker):
        found.append(Clock(times=read_time(lone, marker), span=lone.span()))
    yield from sorted(found, key=lambda c: c.span)


def find_clock(text: str, lang: str, *, bare: bool = False) -> tuple[list[Clock], str]:
    """The time-of-day mentions of ``text`` (canonical) and the text with the spans of
    clock times and ranges blanked (so the date grammar never reads their numbers).

    A range ("entre deux et quatre") comes first; else the clock times; else a part of the
    day as a window."""
    marker = _marker(text, lang)
    found: list[Clock] = []
    while (r := _range(text, lang, marker)) is not None:
        found.append(r)
        text = _blank(text, r.span)
    times = list(times_in(text, lang, bare=bare))
    for c in times:
        text = _blank(text, c.span)
    found += times
    if not found:
        part = part_of_day(text, lang)
        if part:
            found.append(Clock(window=part[0], span=part[1]))
    return sorted(found, key=lambda c: c.span), text


def _blank(text: str, span: tuple[int, int]) -> str:
    return text[:span[0]] + "|" * (span[1] - span[0]) + text[span[1]:]
