"""When a resource can work on a given day: weekly hours, closures and public holidays.

Pure functions of a :class:`~agi.config.Tenant` and a local date. Everything here is
local wall-clock time, in minutes since local midnight (``0 <= minute <= 1440``): opening
hours and closures are written that way in the configuration, so intersecting and
subtracting them needs no time zone. Turning wall-clock minutes into instants (and
skipping the hour that does not exist on a spring change) is
:mod:`agi.booking.availability`'s job.

A resource works where all of these hold:

* inside the tenant's opening hours for that weekday;
* inside its own weekly hours, when it has any (``[[tenants.resource]] opening_hours``);
* outside the tenant's closures and public holidays, and outside its own closures.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from agi.config import Closure, Tenant, WeeklyHours
from agi.errors import ConfigError

Span = tuple[int, int]  # [start, end) in minutes since local midnight
DAY_MINUTES = 24 * 60


def minutes(t: time) -> int:
    return t.hour * 60 + t.minute


@lru_cache(maxsize=64)
def _holidays(country: str, year: int) -> dict[date, str]:
    # Computing a country's year takes milliseconds; a search asks for the same one per
    # day of its window, hence the cache (its key is the whole input: no stale state).
    try:
        import holidays
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ConfigError("public_holidays", "the holidays package is not installed",
                          "pip install holidays") from exc
    code, _, subdiv = country.partition("-")
    return dict(holidays.country_holidays(code, subdiv=subdiv or None, years=year).items())


def holiday(tenant: Tenant, day: date) -> str | None:
    """The name of the public holiday on ``day`` in the tenant's country, if any."""
    if not tenant.public_holidays:
        return None
    return _holidays(tenant.public_holidays, day.year).get(day)


def _weekly(hours: WeeklyHours, day: date) -> list[Span]:
    return [(minutes(o), minutes(c)) for o, c in hours.get(day.weekday(), ())]


def _closed(closures: Iterable[Closure], day: date) -> list[Span]:
    """The parts of ``closures`` falling on ``day``, clipped to it."""
    midnight = datetime.combine(day, time())
    out = []
    for closure in closures:
        start = max(closure.start, midnight)
        end = min(closure.end, midnight + timedelta(days=1))
        if start < end:
            out.append((int((start - midnight).total_seconds() // 60),
                        int((end - midnight).total_seconds() // 60)))
    return out


def intersect(a: Sequence[Span], b: Sequence[Span]) -> list[Span]:
    """Where both span lists hold (each list sorted and non-overlapping)."""
    out = []
    for s1, e1 in a:
        for s2, e2 in b:
            start, end = max(s1, s2), min(e1, e2)
            if start < end:
                out.append((start, end))
    return sorted(out)


def subtract(spans: Sequence[Span], holes: Sequence[Span]) -> list[Span]:
    """``spans`` without ``holes``."""
    out = list(spans)
    for h_start, h_end in holes:
        kept = []
        for start, end in out:
            if h_end <= start or end <= h_start:
                kept.append((start, end))
                continue
            if start < h_start:
                kept.append((start, h_start))
            if h_end < end:
                kept.append((h_end, end))
        out = kept
    return sorted(out)


def tenant_spans(tenant: Tenant, day: date) -> list[Span]:
    """When the business is open on ``day``: its hours minus its closures and holidays."""
    if holiday(tenant, day) is not None:
        return []
    return subtract(_weekly(tenant.opening_hours, day), _closed(tenant.closures, day))


def working_spans(tenant: Tenant, resource: str, day: date) -> list[Span]:
    """When ``resource`` can be booked on ``day`` (see the module docstring)."""
    spans = tenant_spans(tenant, day)
    detail = tenant.resource(resource)
    if detail.opening_hours:
        spans = intersect(spans, _weekly(detail.opening_hours, day))
    return subtract(spans, _closed(detail.closures, day))


def fits(spans: Sequence[Span], start: int, end: int) -> bool:
    """True if [start, end) lies inside one of ``spans``."""
    return any(s <= start and end <= e for s, e in spans)


def closed_reason(tenant: Tenant, resources: Sequence[str], day: date) -> str:
    """Why nobody works on ``day`` (for the error message): a holiday, a closure, hours."""
    name = holiday(tenant, day)
    if name is not None:
        return f"closed on {day.isoformat()} ({name})"
    if _closed(tenant.closures, day):
        return f"closed on {day.isoformat()} (closure)"
    if all(_closed(tenant.resource(r).closures, day) for r in resources):
        return f"{', '.join(resources)} unavailable on {day.isoformat()} (leave)"
    return "not open"


# Public names for other modules that ask "when" of other weekly hours (agi.call.staffed).
weekly_spans = _weekly
closed_spans = _closed
