"""When humans are there: the one question every transfer path asks first.

A tenant's staffed hours (``[tenants.staffed] hours``, else its opening hours) minus its
closures and public holidays (the same ones bookings use, :mod:`agi.booking.hours`).
Outside them nobody is promised, offered or sent a transfer: the "0" key, the dialogue's
request for a human, and the technical fall-backs all ask :func:`may_transfer`, and the
caller hears the after-hours greeting and the staffed hours instead.

Pure functions of a :class:`~agi.config.Tenant` and an aware instant.
"""

from __future__ import annotations

from datetime import datetime

from agi.booking import hours
from agi.config import Tenant, WeeklyHours
from agi.dialogue import phrases
from agi.dialogue.normalize import speak_weekly_hours

__all__ = ["is_staffed", "may_transfer", "staffed_hours_sentence", "after_hours_greeting"]

STAFFED_INTRO = {
    "fr": "Notre équipe répond au téléphone ",
    "en": "Our team takes calls ",
}


def _weekly(tenant: Tenant) -> WeeklyHours:
    staffed = tenant.staffed.hours
    return tenant.opening_hours if staffed is None else staffed


def is_staffed(tenant: Tenant, at: datetime) -> bool:
    """True if a human takes calls at this instant (closing time itself is not staffed).

    A tenant with neither staffed nor opening hours configured is always staffed (the
    business said nothing about its hours); closures and public holidays still count."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()}: give an aware datetime")
    local = at.astimezone(tenant.tz)
    day = local.date()
    if hours.holiday(tenant, day) is not None:
        return False
    weekly = _weekly(tenant)
    spans = hours.weekly_spans(weekly, day) if weekly else [(0, hours.DAY_MINUTES)]
    now = hours.minutes(local.time())
    return any(s <= now < e for s, e in hours.subtract(spans, hours.closed_spans(tenant.closures, day)))


def may_transfer(tenant: Tenant, at: datetime) -> bool:
    """True if a transfer may be offered or attempted now: a target and a human there."""
    return bool(tenant.transfer_target) and is_staffed(tenant, at)


def staffed_hours_sentence(tenant: Tenant) -> str:
    """When the team answers, as one spoken sentence ("" when the hours are not known)."""
    lang = tenant.language
    return speak_weekly_hours(_weekly(tenant), lang, phrases.phrase(STAFFED_INTRO, lang))


def after_hours_greeting(tenant: Tenant) -> str:
    """What an after-hours caller hears instead of the greeting: the tenant's words (or
    the default), then the staffed hours."""
    greeting = tenant.staffed.after_hours_greeting or phrases.phrase(phrases.AFTER_HOURS, tenant.language)
    return " ".join(part for part in (greeting, staffed_hours_sentence(tenant)) if part)
