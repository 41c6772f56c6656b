"""The English day grammar (British and American): one rule per way of saying a day."""

from __future__ import annotations

import re
from datetime import date, timedelta

from agi.dialogue.when import days as d
from agi.dialogue.when.days import Days, Rule
from agi.dialogue.when.rules_fr import _offset, _past

WD = "|".join(d.WEEKDAYS["en"])
MO = "|".join(d.MONTHS["en"])
# "may" alone is a verb far more often than the month.
MO_ALONE = "|".join(m for m in d.MONTHS["en"] if m != "may")
_YEAR = r"(?: (?P<y>\d{4}|20 \d\d))?"
_PART = r"(?: (?:morning|afternoon|evening))?"
_NOT_DAY = r"(?! (?:1|ones|option|slot|time|appointment)\b)"  # "the first one"


def _wd(m: re.Match[str]) -> int:
    return d.WEEKDAYS["en"].index(m["wd"])


def _mo(m: re.Match[str]) -> int:
    return d.MONTHS["en"].index(m["mo"]) + 1


def _count(word: str | None) -> int:
    if not word or word in ("a", "one"):
        return 1
    if word in ("a couple of", "couple of", "a few"):
        return 2
    return int(word)


def _in(m: re.Match[str], today: date) -> Days:
    n = _count(m["n"])
    return d.one(today + timedelta(days=7 * n if m["u"].startswith("week") else n))


def _week_on(m: re.Match[str], today: date) -> Days:
    wd = d.WEEKDAYS["en"].index(m["wd"] or m["wd2"])  # "a week on X" / "X week"
    return d.one(d.next_weekday(today, wd) + timedelta(days=7))


def _wd_in_weeks(m: re.Match[str], today: date) -> Days:
    week = d.week_start(today + timedelta(days=7 * _count(m["n"])))
    return d.one(week + timedelta(days=_wd(m)))




def _wd_day(m: re.Match[str], today: date) -> Days:
    return d.said_day(m, today, "en")


def _week_of(m: re.Match[str], today: date) -> Days:
    return d.week_of(m, today, "en")


def _weekday(m: re.Match[str], today: date) -> Days:
    return d.one(d.next_weekday(today, _wd(m), include_today=bool(m["this"])))


def _part(word: str | None) -> str | None:
    if not word:
        return None
    for key in ("early", "beginning", "start", "mid", "middle", "late", "end"):
        if key in word:
            return key
    return None


def _week(m: re.Match[str], today: date) -> Days:
    ahead = 1 if m["w"] == "next" else 0
    return d.week_part(today, d.week_start(today + timedelta(days=7 * ahead)), _part(m["part"]))


def _later_this_week(m: re.Match[str], today: date) -> Days:
    return d.span_of(today + timedelta(days=1), d.week_start(today) + timedelta(days=6), today)


def _weekend(m: re.Match[str], today: date) -> Days:
    sat = d.week_start(today) + timedelta(days=5)
    if today.weekday() == 6 or m["next"] and today.weekday() >= 5:
        sat += timedelta(days=7)
    return d.span_of(sat, sat + timedelta(days=1), today)


def _month(m: re.Match[str], today: date) -> Days:
    return d.month_part(today, _mo(m), _part(m["part"]), d._year(m["y"]))


def _next_month(m: re.Match[str], today: date) -> Days:
    return d.next_month(today, _part(m["part"]))


def _this_month(m: re.Match[str], today: date) -> Days:
    return d.month_part(today, today.month, _part(m["part"]), today.year)


def _after_day(m: re.Match[str], today: date) -> Days:
    day = d.day_month(today, int(m["d"]), _mo(m), None) if m["mo"] else d.day_number(today, int(m["d"]))
    return d.after_day(day, today, inclusive=m["from"] == "from")


def _r(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


_MONTH_PART = (r"(?P<part>early|mid|late|(?:at |towards |by )?the (?:beginning|start|end|middle) of"
               r"|beginning of|start of|end of|middle of)")

RULES: list[Rule] = [
    (_r(r"\b(?:the )?day before yesterday\b"), _offset(-2)),
    (_r(r"\byesterday\b"), _offset(-1)),
    (_r(rf"\blast (?:{WD}|week|month|year)\b"), _past),
    (_r(r"\b(?:\d+|a|a couple of|a few) (?:days?|weeks?|months?) ago\b"), _past),
    (_r(r"\b(?:the )?day after tomorrow\b"), _offset(2)),
    (_r(r"\ba fortnight (?:today|from today)\b|\bin a fortnight(?: s)?(?: time)?\b"), _offset(14)),
    (_r(r"\ba week (?:today|from today)\b"), _offset(7)),
    (_r(r"\ba week (?:tomorrow|from tomorrow)\b"), _offset(8)),
    (_r(r"\btoday\b|\btonight\b|\bthis (?:morning|afternoon|evening)\b"), _offset(0)),
    (_r(r"\btomorrow\b"), _offset(1)),
    (_r(rf"\b(?:on )?(?P<wd>{WD}){_PART} (?:of |on )?next week\b"),
     lambda m, today: d.one(d.week_start(today + timedelta(days=7)) + timedelta(days=_wd(m)))),
    (_r(rf"\b(?:on )?(?P<wd>{WD}){_PART} in (?P<n>\d+|a|one) weeks?(?: s)?(?: time)?\b"), _wd_in_weeks),
    (_r(rf"\ba week (?:on|from|next) (?P<wd>{WD})\b|\b(?P<wd2>{WD}) (?:week|after next)\b"),
     _week_on),
    (_r(rf"\bthe (?P<wd>{WD}) after\b(?! next)"), lambda m, today: d.following_weekday(today, _wd(m))),
    (_r(rf"\bnext (?P<wd>{WD})\b"), lambda m, today: d.one(d.next_weekday(today, _wd(m)))),
    (_r(rf"\b(?P<from>after|from) the (?P<d>\d{{1,2}})e(?: (?:of )?(?P<mo>{MO}))?(?: (?:onwards|on))?\b"),
     _after_day),
    (_r(r"\bin (?P<n>\d+|a|one|a couple of|a few) (?P<u>days?|weeks?)(?: s)?(?: time)?\b"), _in),
    (_r(r"\b(?P<n>\d+|a couple of|a few) (?P<u>days?|weeks?) from now\b"), _in),
    (_r(rf"\bthe week (?:of|beginning|starting|commencing) (?:the )?(?P<d>\d{{1,2}})e?(?: (?:of )?(?P<mo>{MO}))?\b"),
     _week_of),
    (_r(rf"\b(?:on )?(?P<wd>{WD}) (?:the )?(?P<d>\d{{1,2}})e(?: (?:of )?(?P<mo>{MO}))?{_YEAR}\b"), _wd_day),
    (_r(rf"\b(?:on )?(?P<wd>{WD}) (?P<mo>{MO}) (?:the )?(?P<d>\d{{1,2}})e?{_YEAR}\b"), _wd_day),
    (_r(rf"\b(?:the )?(?P<d>\d{{1,2}})e? (?:of )?(?P<mo>{MO}){_YEAR}\b"), _wd_day),
    (_r(rf"\b(?P<mo>{MO}) (?:the )?(?P<d>\d{{1,2}})e?{_YEAR}\b"), _wd_day),
    (_r(rf"\bthe (?P<d>\d{{1,2}})e\b{_NOT_DAY}"), lambda m, today: d.day_number(today, int(m["d"]))),
    (_r(r"\b(?:the )?week after next\b"),
     lambda m, today: d.week_part(today, d.week_start(today + timedelta(days=14)), None)),
    (_r(r"\blater this week\b"), _later_this_week),
    (_r(r"\b(?:by|before) (?:the end of (?:the|this) week|the weekend)\b"),
     lambda m, today: d.until_week_end(today)),
    (_r(r"\b(?P<part>early|(?:at |towards |by )?the (?:beginning|start|end|middle) of|beginning of|start of|"
        r"end of|middle of|mid|late|in the middle of)? ?(?P<w>next|this|the) week\b"), _week),
    (_r(r"\b(?:this|the|over the|(?P<next>next)) weekend\b"), _weekend),
    (_r(rf"\b(?:on )?(?P<this>this (?:coming )?|coming )?(?P<wd>{WD})s?\b"), _weekday),
    (_r(rf"\b{_MONTH_PART}? ?next month\b"), _next_month),
    (_r(rf"\b{_MONTH_PART} (?:the|this) month\b"), _this_month),
    (_r(rf"\b{_MONTH_PART} (?P<mo>{MO}){_YEAR}\b"), _month),
    (_r(rf"\b(?P<part>)(?:in |during |sometime in |some time in )?(?P<mo>{MO_ALONE}){_YEAR}\b"), _month),
]

