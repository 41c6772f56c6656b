"""The French day grammar: one rule per way of saying a day, most specific first."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

from agi.dialogue.when import days as d
from agi.dialogue.when.days import Days, Rule

WD = "|".join(d.WEEKDAYS["fr"])
MO = "|".join(d.MONTHS["fr"])
# A number followed by one of these is no day of the month.
_NOT_DAY = r"(?! (?:h|heures?|jours?|semaines?|mois|minutes?|personnes?|ans|fois|enfants|rue|avenue)\b)"
_PART = r"(?: (?:matin|soir|apres midi|en matinee|en soiree))?"


def _wd(m: re.Match[str]) -> int:
    return d.WEEKDAYS["fr"].index(m["wd"])


def _mo(m: re.Match[str]) -> int:
    return d.MONTHS["fr"].index(m["mo"]) + 1


def _days_in(m: re.Match[str]) -> int:
    n, unit = int(m["n"]), m["u"]
    if unit.startswith("semaine"):
        return 7 * n
    return {8: 7, 15: 14}.get(n, n)  # "dans huit jours" is a week, "dans quinze jours" two


def _dans(m: re.Match[str], today: date) -> Days:
    if m["u"] == "mois":
        return d.one(d.add_months(today, int(m["n"])))
    return d.one(today + timedelta(days=_days_in(m)))


def _en_huit(m: re.Match[str], today: date) -> Days:
    weeks = 1 if m["n"] == "8" else 2
    return d.one(d.next_weekday(today, _wd(m)) + timedelta(days=7 * weeks))


def _wd_in_weeks(m: re.Match[str], today: date) -> Days:
    week = d.week_start(today + timedelta(days=7 * int(m["n"])))
    return d.one(week + timedelta(days=_wd(m)))


def _wd_next_week(m: re.Match[str], today: date) -> Days:
    weeks = 2 if m["w"] == "d apres" else 1
    return d.one(d.week_start(today + timedelta(days=7 * weeks)) + timedelta(days=_wd(m)))


def _wd_day(m: re.Match[str], today: date) -> Days:
    return d.said_day(m, today, "fr")


def _week_of(m: re.Match[str], today: date) -> Days:
    return d.week_of(m, today, "fr")


def _weekday(m: re.Match[str], today: date) -> Days:
    return d.one(d.next_weekday(today, _wd(m), include_today=bool(m["ce"])))


def _week(m: re.Match[str], today: date) -> Days:
    ahead = 1 if m["next"] else 0
    return d.week_part(today, d.week_start(today + timedelta(days=7 * ahead)), m["part"])


def _weekend(m: re.Match[str], today: date) -> Days:
    sat = d.week_start(today) + timedelta(days=5)
    if today.weekday() == 6:
        sat += timedelta(days=7)
    return d.span_of(sat, sat + timedelta(days=1), today)


def _month(m: re.Match[str], today: date) -> Days:
    return d.month_part(today, _mo(m), m["part"], d._year(m["y"]))


def _this_month(m: re.Match[str], today: date) -> Days:
    if m["next"]:
        return d.next_month(today, m["part"])
    return d.month_part(today, today.month, m["part"], today.year)


def _after_day(m: re.Match[str], today: date) -> Days:
    day = d.day_month(today, int(m["d"]), _mo(m), None) if m["mo"] else d.day_number(today, int(m["d"]))
    return d.after_day(day, today, inclusive=m["from"].startswith("a "))


def _offset(n: int) -> Callable[[re.Match[str], date], Days]:
    """``n`` days from today (a negative ``n`` is the past)."""
    return lambda m, today: Days(today + timedelta(days=n), today + timedelta(days=n),
                                 past=n < 0)


def _past(m: re.Match[str], today: date) -> Days:
    return d.past(today)


def _r(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


RULES: list[Rule] = [
    (_r(r"\bavant hier\b"), _offset(-2)),
    (_r(r"\bhier\b"), _offset(-1)),
    (_r(rf"\b(?:le |l )?(?:{WD}) dernier\b"), _past),
    (_r(r"\b(?:la semaine|le mois|l annee) derniere?\b"), _past),
    (_r(r"\bil y a \d+ (?:jours?|semaines?|mois)\b"), _past),
    (_r(r"\bapres demain\b"), _offset(2)),
    (_r(r"\baujourd hui\b|\bce (?:matin|soir|tantot)\b|\bcet apres midi\b|\bcette nuit\b"), _offset(0)),
    (_r(r"\bdemain\b"), _offset(1)),
    (_r(rf"\b(?:le |ce )?(?P<wd>{WD}){_PART} en (?P<n>8|15)\b"), _en_huit),
    (_r(rf"\b(?:le |ce )?(?P<wd>{WD}){_PART} dans (?P<n>\d+) semaines?\b"), _wd_in_weeks),
    (_r(rf"\b(?:le |ce )?(?P<wd>{WD}){_PART} (?:de )?la semaine (?P<w>prochaine|suivante|d apres)\b"),
     _wd_next_week),
    (_r(rf"\b(?:le )?(?P<wd>{WD}) d apres\b"),
     lambda m, today: d.following_weekday(today, _wd(m))),
    (_r(r"\bdans (?P<n>\d+) (?P<u>jours?|semaines?|mois)\b"), _dans),
    (_r(rf"\b(?P<from>apres le|passe le|a partir du|a compter du) (?P<d>\d{{1,2}})e?(?: (?P<mo>{MO}))?\b{_NOT_DAY}"),
     _after_day),
    (_r(rf"\bla semaine du (?P<d>\d{{1,2}})e?(?: (?P<mo>{MO}))?\b"), _week_of),
    (_r(rf"\b(?:le |ce )?(?P<wd>{WD}) (?:le )?(?P<d>\d{{1,2}})e?(?: (?P<mo>{MO}))?(?: (?P<y>\d{{4}}))?\b{_NOT_DAY}"),
     _wd_day),
    (_r(rf"\b(?:le )?(?P<d>\d{{1,2}})e? (?P<mo>{MO})(?: (?P<y>\d{{4}}))?\b"), _wd_day),
    (_r(rf"\b(?:le|du|au) (?P<d>\d{{1,2}})e?\b{_NOT_DAY}"),
     lambda m, today: d.day_number(today, int(m["d"]))),
    (_r(r"\b(?:la semaine (?:prochaine|suivante))\b"),
     lambda m, today: d.week_part(today, d.week_start(today + timedelta(days=7)), None)),
    (_r(r"\bla semaine d apres\b"),
     lambda m, today: d.week_part(today, d.week_start(today + timedelta(days=14)), None)),
    (_r(r"\b(?:d ici|avant) (?:la )?fin de (?:la )?semaine\b|\bd ici (?:a |le )?(?:ce )?week end\b"),
     lambda m, today: d.until_week_end(today)),
    (_r(r"\b(?:en |au )?(?P<part>debut|milieu|fin) (?:de (?:la )?)?semaine(?P<next> prochaine)?\b"), _week),
    (_r(r"\b(?:dans la|cette) semaine(?P<next>)(?P<part>)\b"), _week),
    (_r(r"\b(?:ce |le )?week end(?: prochain)?\b"), _weekend),
    (_r(rf"\b(?:le |(?P<ce>ce ))?(?P<wd>{WD})(?: (?:prochain|qui vient))?\b"), _weekday),
    (_r(r"\b(?:en |au |a la )?(?P<part>debut|mi|milieu|fin) (?:du |de )?mois(?P<next> prochain)?\b"), _this_month),
    (_r(r"\b(?:le |du |au )?mois (?P<next>prochain)(?P<part>)\b"), _this_month),
    (_r(rf"\b(?:(?:en |au |a la )?(?P<part>debut|mi|milieu|fin) (?:de |d )?|courant |en |au mois d |au mois de )?"
        rf"(?P<mo>{MO})(?: (?P<y>\d{{4}}))?\b"), _month),
]
