"""When a tenant can see someone: opening hours, free slots, booking a slot.

Pure functions over a :class:`~agi.booking.store.Store` and a :class:`~agi.config.Tenant`.
Opening hours are wall-clock times in the tenant's time zone, so every search walks local
wall-clock times with :mod:`zoneinfo` and converts each to an absolute instant: a slot at
09:00 stays at 09:00 on both sides of a daylight-saving change. Wall times that do not
exist (the hour skipped in spring) are skipped; wall times that happen twice (the hour
repeated in autumn) are offered once, at their first occurrence (``fold=0``). Durations
are absolute (a 30-minute service lasts 30 real minutes even across a change).

Instants are compared and subtracted in UTC: Python compares two datetimes that share a
tzinfo by wall clock, ignoring ``fold``, which is wrong around a change. Inputs may be in
any time zone and are converted to the tenant's; naive datetimes are rejected with
:class:`ValueError` (use :func:`localize` for a wall-clock time the caller said).
Returned datetimes are in the tenant's time zone.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate

from agi.booking.store import Appointment, NewAppointment, Store
from agi.config import Service, Tenant
from agi.errors import SlotTaken, SlotUnavailable

# A booking made by phone must reach the business before the customer does: no slot
# starts sooner than this after the call.
MIN_NOTICE = timedelta(hours=1)
# Calendars further out are not reliable (holidays, staff rotas) and the bound keeps a
# search over a full calendar small.
HORIZON = timedelta(days=60)
# Slots start on quarter hours of local time: what callers say and what diaries show.
SLOT_STEP = timedelta(minutes=15)
# How far next_opening() looks: one week covers every weekday once, plus today.
_OPENING_LOOKAHEAD_DAYS = 8


@dataclass(frozen=True)
class Slot:
    """A bookable time for one resource; aware datetimes in the tenant's time zone."""

    start: datetime
    end: datetime
    resource: str


# time zones -------------------------------------------------------------------------
def to_local(tenant: Tenant, moment: datetime) -> datetime:
    """``moment`` in the tenant's time zone; :class:`ValueError` if it is naive."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: give an aware datetime, "
                         "or localize() a wall-clock time first")
    return moment.astimezone(tenant.tz)


def localize(tenant: Tenant, wall: datetime) -> datetime:
    """A wall-clock time in the tenant's zone as an aware datetime.

    A time skipped by a daylight-saving change (02:30 on the spring change in Paris) moves
    forward by the gap (03:30); a repeated time takes its first occurrence. Aware inputs
    are only converted.
    """
    if wall.tzinfo is not None:
        return to_local(tenant, wall)
    # fold=0 takes the offset in force before the change, which for a skipped time lands
    # after the gap once normalised through UTC.
    return wall.replace(tzinfo=tenant.tz, fold=0).astimezone(UTC).astimezone(tenant.tz)


def _utc(tenant: Tenant, moment: datetime) -> datetime:
    return to_local(tenant, moment).astimezone(UTC)


def _exists(wall: datetime, local: datetime) -> bool:
    return local.astimezone(UTC).astimezone(local.tzinfo).replace(tzinfo=None) == wall


def _end(start: datetime, minutes: int) -> datetime:
    # Aware + timedelta is wall-clock arithmetic in Python; go through UTC for real time.
    return (start.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(start.tzinfo)


# opening hours -------------------------------------------------------------------------
def within_opening_hours(tenant: Tenant, start: datetime, duration_min: int) -> bool:
    """True if [start, start + duration) fits inside one opening span of its local day."""
    local = to_local(tenant, start)
    end = _end(local, duration_min)
    if end.date() != local.date():
        return False
    begin, finish = local.time(), end.time()
    return any(opens <= begin and finish <= closes
               for opens, closes in tenant.opening_hours.get(local.weekday(), ()))


def is_open(tenant: Tenant, at: datetime) -> bool:
    """True if the business is open at this instant (closing time itself is closed)."""
    local = to_local(tenant, at)
    now = local.time()
    return any(opens <= now < closes
               for opens, closes in tenant.opening_hours.get(local.weekday(), ()))


def next_opening(tenant: Tenant, after: datetime) -> datetime | None:
    """The next time the doors open, at or after ``after`` (local); None if never open."""
    local = to_local(tenant, after)
    for offset in range(_OPENING_LOOKAHEAD_DAYS):
        day = local.date() + timedelta(days=offset)
        for opens, _closes in tenant.opening_hours.get(day.weekday(), ()):
            candidate = localize(tenant, datetime.combine(day, opens))
            if candidate.astimezone(UTC) >= local.astimezone(UTC):
                return candidate
    return None


# rules --------------------------------------------------------------------------------
def check_slot(tenant: Tenant, service: Service, start: datetime, *, now: datetime,
               min_notice: timedelta = MIN_NOTICE, horizon: timedelta = HORIZON) -> None:
    """Raise :class:`SlotUnavailable` (with a ``reason``) if no calendar could take it.

    Reasons: ``past``, ``too_soon`` (inside ``min_notice``), ``too_far`` (beyond
    ``horizon``), ``closed`` (does not fit in the opening hours with its duration).
    """
    local = to_local(tenant, start)
    at, now_utc = local.astimezone(UTC), _utc(tenant, now)
    when = f"{local:%Y-%m-%d %H:%M %Z}"
    if at < now_utc:
        raise SlotUnavailable(f"{when} is in the past", reason="past")
    if at < now_utc + min_notice:
        raise SlotUnavailable(f"{when} is less than {min_notice} from now", reason="too_soon")
    if at > now_utc + horizon:
        raise SlotUnavailable(f"{when} is more than {horizon.days} days ahead", reason="too_far")
    if not within_opening_hours(tenant, local, service.duration_min):
        raise SlotUnavailable(f"{tenant.name} is not open for a {service.duration_min}-minute "
                              f"{service.name} at {when}", reason="closed")


def _resources(tenant: Tenant, resource: str | None) -> tuple[str, ...]:
    if resource is None:
        return tenant.resources
    if resource not in tenant.resources:
        raise ValueError(f"tenant {tenant.id} has no resource {resource!r}; "
                         f"known: {', '.join(tenant.resources)}")
    return (resource,)


class _Calendar:
    """Busy intervals per resource, fetched once, answering overlap queries by bisection."""

    def __init__(self, appointments: Sequence[Appointment]) -> None:
        by_resource: dict[str, list[tuple[datetime, datetime]]] = {}
        for appt in appointments:
            by_resource.setdefault(appt.resource, []).append((appt.starts_at, appt.ends_at))
        self._starts: dict[str, list[datetime]] = {}
        self._max_ends: dict[str, list[datetime]] = {}
        for resource, spans in by_resource.items():
            spans.sort()
            self._starts[resource] = [s for s, _ in spans]
            # Running maximum of ends: correct even if stored intervals overlap each other.
            self._max_ends[resource] = list(accumulate((e for _, e in spans), max))

    def is_free(self, resource: str, start: datetime, end: datetime) -> bool:
        """True if [start, end) overlaps none of the resource's intervals (UTC inputs)."""
        starts = self._starts.get(resource)
        if not starts:
            return True
        before_end = bisect_left(starts, end)  # intervals starting before our end
        return before_end == 0 or self._max_ends[resource][before_end - 1] <= start

    def first_free(self, resources: Sequence[str], start: datetime, end: datetime) -> str | None:
        return next((r for r in resources if self.is_free(r, start, end)), None)


# search ---------------------------------------------------------------------------------
def slot_if_free(store: Store, tenant: Tenant, service: Service, start: datetime, *,
                 now: datetime, min_notice: timedelta = MIN_NOTICE,
                 horizon: timedelta = HORIZON, resource: str | None = None) -> Slot | None:
    """The asked slot on the first free resource, or None if closed, too soon, too far or
    taken. The start need not be on a :data:`SLOT_STEP` boundary: the caller chose it."""
    try:
        check_slot(tenant, service, start, now=now, min_notice=min_notice, horizon=horizon)
    except SlotUnavailable:
        return None
    local = to_local(tenant, start)
    end = _end(local, service.duration_min)
    calendar = _Calendar(store.appointments(tenant.id, local, end))
    free = calendar.first_free(_resources(tenant, resource), local.astimezone(UTC),
                               end.astimezone(UTC))
    return Slot(local, end, free) if free else None


def free_slots(store: Store, tenant: Tenant, service: Service, around: datetime, *,
               now: datetime, count: int = 3, min_notice: timedelta = MIN_NOTICE,
               horizon: timedelta = HORIZON, step: timedelta = SLOT_STEP,
               resource: str | None = None) -> list[Slot]:
    """The ``count`` free slots nearest to ``around``, before or after it.

    Ordered by distance from ``around``, then earlier first. Each start time is offered
    once, on the first free resource in ``tenant.resources`` order. Slots respect opening
    hours with the service's duration, start at least ``min_notice`` after ``now`` and at
    most ``horizon`` after it, and start on ``step`` boundaries of local wall-clock time.
    The calendar is read with one query over the whole window.
    """
    target, now_utc = _utc(tenant, around), _utc(tenant, now)
    resources = _resources(tenant, resource)
    first, last = now_utc + min_notice, now_utc + horizon
    duration = timedelta(minutes=service.duration_min)
    calendar = _Calendar(store.appointments(tenant.id, first, last + duration))
    found: list[tuple[timedelta, datetime, Slot]] = []
    for start in _candidates(tenant, service.duration_min, first, last, step):
        start_utc = start.astimezone(UTC)
        end_utc = start_utc + duration
        free = calendar.first_free(resources, start_utc, end_utc)
        if free is not None:
            slot = Slot(start, end_utc.astimezone(tenant.tz), free)
            found.append((abs(start_utc - target), start_utc, slot))
    found.sort(key=lambda item: item[:2])
    return [slot for _, _, slot in found[:count]]


def _candidates(tenant: Tenant, duration_min: int, first: datetime, last: datetime,
                step: timedelta) -> Iterator[datetime]:
    """Every aligned local start in [first, last] (UTC) whose service fits an opening span."""
    step_min = int(step.total_seconds() // 60)
    if step_min <= 0:
        raise ValueError(f"slot step must be at least one minute, not {step}")
    day: date = first.astimezone(tenant.tz).date()
    last_day = last.astimezone(tenant.tz).date()
    while day <= last_day:
        for opens, closes in tenant.opening_hours.get(day.weekday(), ()):
            minute = -(-_minutes(opens) // step_min) * step_min  # first aligned start
            while minute < _minutes(closes):
                wall = datetime.combine(day, time(minute // 60, minute % 60))
                local = wall.replace(tzinfo=tenant.tz)  # fold=0: a repeated time once
                minute += step_min
                if not _exists(wall, local) or not first <= local.astimezone(UTC) <= last:
                    continue
                end = _end(local, duration_min)
                if end.date() == day and end.time() <= closes:
                    yield local
        day += timedelta(days=1)


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


# booking ---------------------------------------------------------------------------------
def book_slot(store: Store, tenant: Tenant, service: Service, start: datetime, *, name: str,
              phone: str, call_id: str, now: datetime, min_notice: timedelta = MIN_NOTICE,
              horizon: timedelta = HORIZON, resource: str | None = None) -> Appointment:
    """Write the appointment on the first resource free at ``start``.

    Raises :class:`SlotUnavailable` when the rules forbid the time (closed, past, too soon,
    too far) and :class:`SlotTaken` when every resource is busy. The overlap check is the
    store's atomic one, so two calls racing for the same slot cannot both win.
    """
    check_slot(tenant, service, start, now=now, min_notice=min_notice, horizon=horizon)
    local = to_local(tenant, start)
    end = _end(local, service.duration_min)
    last: SlotTaken | None = None
    for candidate in _resources(tenant, resource):
        try:
            return store.book(NewAppointment(
                tenant_id=tenant.id, resource=candidate, service=service.name,
                starts_at=local, ends_at=end, customer_name=name, customer_phone=phone,
                call_id=call_id))
        except SlotTaken as exc:
            last = exc
    assert last is not None  # a tenant always has at least one resource (config checks)
    raise SlotTaken(f"no resource of {tenant.id} is free at {local:%Y-%m-%d %H:%M %Z}: {last}",
                    conflict=last.conflict) from last
