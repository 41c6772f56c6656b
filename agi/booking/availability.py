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

Who can work when (tenant and resource hours, closures, public holidays) comes from
:mod:`agi.booking.hours`. A service's ``buffer_min`` keeps its resource free after each
appointment: a booking blocks [start, end + buffer), and a new one must fit before the
next blocked stretch; the buffer may run past closing time (nobody is booked then).
Minimum notice and horizon are the tenant's (``min_notice_min``, ``horizon_days``) unless
given explicitly.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate

from agi.booking import hours
from agi.booking.store import Appointment, NewAppointment, Store
from agi.config import DEFAULT_HORIZON_DAYS, DEFAULT_MIN_NOTICE_MIN, Service, Tenant
from agi.errors import SlotTaken, SlotUnavailable, StoreError

# The defaults of the tenant keys min_notice_min and horizon_days (see agi.config).
MIN_NOTICE = timedelta(minutes=DEFAULT_MIN_NOTICE_MIN)
HORIZON = timedelta(days=DEFAULT_HORIZON_DAYS)
# Slots start on quarter hours of local time: what callers say and what diaries show.
SLOT_STEP = timedelta(minutes=15)
# How far next_opening() looks: one week covers every weekday once, plus today.
_OPENING_LOOKAHEAD_DAYS = 8
# ... and past closed days at most this far (a business closed for a year is closed).
_CLOSED_LOOKAHEAD_DAYS = 366


@dataclass(frozen=True)
class Window:
    """Where a caller wants a slot: local days ``first``..``last`` (inclusive) and, within each,
    local wall-clock times ``start``..``end`` (a slot must start in it; None: the whole day)."""

    first: date
    last: date
    start: time | None = None
    end: time | None = None

    def holds(self, local: datetime) -> bool:
        """True if the local start ``local`` lies in the window."""
        if not self.first <= local.date() <= self.last:
            return False
        wall = local.time().replace(tzinfo=None)
        return (self.start is None or wall >= self.start) and (self.end is None or wall <= self.end)


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
def _wall_span(local: datetime, duration_min: int) -> tuple[int, int] | None:
    """[start, end) of an appointment in wall-clock minutes of its day; None across midnight."""
    end = _end(local, duration_min)
    if end.date() != local.date():
        return None
    return hours.minutes(local.time()), hours.minutes(end.time())


def _can_work(tenant: Tenant, resource: str, local: datetime, duration_min: int) -> bool:
    span = _wall_span(local, duration_min)
    return span is not None and hours.fits(hours.working_spans(tenant, resource, local.date()), *span)


def within_opening_hours(tenant: Tenant, start: datetime, duration_min: int,
                         resource: str | None = None) -> bool:
    """True if [start, start + duration) fits a working span of ``resource`` (default: of any
    resource) that day: opening hours, closures, public holidays and resource hours."""
    local = to_local(tenant, start)
    candidates = tenant.resources if resource is None else (resource,)
    return any(_can_work(tenant, r, local, duration_min) for r in candidates)


def is_open(tenant: Tenant, at: datetime) -> bool:
    """True if the business is open at this instant (closing time itself is closed).

    Closures and public holidays count as closed."""
    local = to_local(tenant, at)
    now = hours.minutes(local.time())
    return any(opens <= now < closes for opens, closes in hours.tenant_spans(tenant, local.date()))


def next_opening(tenant: Tenant, after: datetime) -> datetime | None:
    """The next time the doors open, at or after ``after`` (local); None if never open.

    Looks one week ahead, plus one day for every usual working day found closed (a
    holiday, a closure), at most a year."""
    local = to_local(tenant, after)
    budget, offset = _OPENING_LOOKAHEAD_DAYS, 0
    while offset < min(budget, _CLOSED_LOOKAHEAD_DAYS):
        day = local.date() + timedelta(days=offset)
        spans = hours.tenant_spans(tenant, day)
        if not spans and tenant.opening_hours.get(day.weekday()):
            budget += 1
        for opens, _closes in spans:
            candidate = localize(tenant, datetime.combine(day, time(opens // 60, opens % 60)))
            if candidate.astimezone(UTC) >= local.astimezone(UTC):
                return candidate
        offset += 1
    return None


# rules --------------------------------------------------------------------------------
def _limits(tenant: Tenant, min_notice: timedelta | None,
            horizon: timedelta | None) -> tuple[timedelta, timedelta]:
    return (tenant.min_notice if min_notice is None else min_notice,
            tenant.horizon if horizon is None else horizon)


def check_slot(tenant: Tenant, service: Service, start: datetime, *, now: datetime,
               min_notice: timedelta | None = None, horizon: timedelta | None = None,
               resource: str | None = None) -> None:
    """Raise :class:`SlotUnavailable` (with a ``reason``) if no calendar could take it.

    Reasons: ``past``, ``too_soon`` (inside the minimum notice), ``too_far`` (beyond the
    horizon), ``closed`` (no resource able to perform the service works then for its
    whole duration: opening hours, a closure, a public holiday, leave).
    """
    min_notice, horizon = _limits(tenant, min_notice, horizon)
    local = to_local(tenant, start)
    at, now_utc = local.astimezone(UTC), _utc(tenant, now)
    when = f"{local:%Y-%m-%d %H:%M %Z}"
    if at < now_utc:
        raise SlotUnavailable(f"{when} is in the past", reason="past")
    if at < now_utc + min_notice:
        raise SlotUnavailable(f"{when} is less than {min_notice} from now", reason="too_soon")
    if at > now_utc + horizon:
        raise SlotUnavailable(f"{when} is more than {horizon.days} days ahead", reason="too_far")
    who = _resources(tenant, service, resource)
    if not any(_can_work(tenant, r, local, service.duration_min) for r in who):
        why = hours.closed_reason(tenant, who, local.date())
        raise SlotUnavailable(f"{tenant.name} cannot take a {service.duration_min}-minute "
                              f"{service.name} at {when}: {why}", reason="closed")


def _resources(tenant: Tenant, service: Service, resource: str | None) -> tuple[str, ...]:
    able = service.resources or tenant.resources
    if resource is None:
        return able
    if resource not in able:
        raise ValueError(f"resource {resource!r} of tenant {tenant.id} cannot perform "
                         f"{service.name}; able: {', '.join(able)}")
    return (resource,)


class _Calendar:
    """Blocked intervals per resource ([start, end + buffer) of each appointment), fetched
    once, answering overlap queries by bisection."""

    def __init__(self, appointments: Sequence[Appointment], ignore: int | None = None) -> None:
        by_resource: dict[str, list[tuple[datetime, datetime]]] = {}
        for appt in appointments:
            if appt.id != ignore:
                by_resource.setdefault(appt.resource, []).append((appt.starts_at,
                                                                  appt.blocked_until))
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


# search ---------------------------------------------------------------------------------
def slot_if_free(store: Store, tenant: Tenant, service: Service, start: datetime, *,
                 now: datetime, min_notice: timedelta | None = None,
                 horizon: timedelta | None = None, resource: str | None = None,
                 ignore: int | None = None) -> Slot | None:
    """The asked slot on the first free resource able to perform the service, or None if
    closed, too soon, too far or taken. The start need not be on a :data:`SLOT_STEP`
    boundary: the caller chose it. ``ignore`` is an appointment id not counted as busy
    (the one being moved)."""
    try:
        check_slot(tenant, service, start, now=now, min_notice=min_notice, horizon=horizon,
                   resource=resource)
    except SlotUnavailable:
        return None
    local = to_local(tenant, start)
    end = _end(local, service.duration_min)
    blocked = end.astimezone(UTC) + timedelta(minutes=service.buffer_min)
    calendar = _Calendar(store.appointments(tenant.id, local, blocked), ignore)
    for candidate in _resources(tenant, service, resource):
        if (_can_work(tenant, candidate, local, service.duration_min)
                and calendar.is_free(candidate, local.astimezone(UTC), blocked)):
            return Slot(local, end, candidate)
    return None


def free_slots(store: Store, tenant: Tenant, service: Service, around: datetime, *,
               now: datetime, count: int = 3, min_notice: timedelta | None = None,
               horizon: timedelta | None = None, step: timedelta = SLOT_STEP,
               resource: str | None = None, ignore: int | None = None,
               within: Window | None = None) -> list[Slot]:
    """The ``count`` free slots nearest to ``around``, before or after it.

    ``within``: only slots starting inside this window of days and wall-clock times (what
    the caller asked: "next week in the morning"); the search then covers only those days.

    Ordered by distance from ``around``, then earlier first. Each start time is offered
    once, on the first free resource able to perform the service (its ``resources``
    order, else the tenant's). Slots fit the resource's working hours with the service's
    duration, keep its buffer clear of other appointments, start at least the minimum
    notice after ``now`` and at most the horizon after it, and start on ``step``
    boundaries of local wall-clock time. The calendar is read with one query.
    """
    min_notice, horizon = _limits(tenant, min_notice, horizon)
    target, now_utc = _utc(tenant, around), _utc(tenant, now)
    who = _resources(tenant, service, resource)
    first, last = now_utc + min_notice, now_utc + horizon
    if within is not None:  # only the asked days (a day's start/end in the tenant's zone)
        day_start = localize(tenant, datetime.combine(within.first, time(0, 0))).astimezone(UTC)
        day_end = localize(tenant, datetime.combine(within.last + timedelta(days=1),
                                                    time(0, 0))).astimezone(UTC)
        first, last = max(first, day_start), min(last, day_end)
    duration = timedelta(minutes=service.duration_min)
    blocking = duration + timedelta(minutes=service.buffer_min)
    calendar = _Calendar(store.appointments(tenant.id, first, last + blocking), ignore)
    found: list[tuple[timedelta, datetime, Slot]] = []
    for start, able in _candidates(tenant, who, service.duration_min, first, last, step):
        if within is not None and not within.holds(start):
            continue
        start_utc = start.astimezone(UTC)
        free = next((r for r in able if calendar.is_free(r, start_utc, start_utc + blocking)), None)
        if free is not None:
            slot = Slot(start, (start_utc + duration).astimezone(tenant.tz), free)
            found.append((abs(start_utc - target), start_utc, slot))
    found.sort(key=lambda item: item[:2])
    return [slot for _, _, slot in found[:count]]


def _candidates(tenant: Tenant, resources: Sequence[str], duration_min: int, first: datetime,
                last: datetime, step: timedelta) -> Iterator[tuple[datetime, list[str]]]:
    """Every aligned local start in [first, last] (UTC) with the resources working then for
    the whole service, in preference order."""
    step_min = int(step.total_seconds() // 60)
    if step_min <= 0:
        raise ValueError(f"slot step must be at least one minute, not {step}")
    day: date = first.astimezone(tenant.tz).date()
    last_day = last.astimezone(tenant.tz).date()
    while day <= last_day:
        spans = {r: hours.working_spans(tenant, r, day) for r in resources}
        union = sorted({span for found in spans.values() for span in found})
        starts = sorted({m for opens, closes in union
                         for m in range(-(-opens // step_min) * step_min, closes, step_min)})
        for minute in starts:
            wall = datetime.combine(day, time(minute // 60, minute % 60))
            local = wall.replace(tzinfo=tenant.tz)  # fold=0: a repeated time once
            if not _exists(wall, local) or not first <= local.astimezone(UTC) <= last:
                continue
            span = _wall_span(local, duration_min)
            able = [r for r in resources if span is not None and hours.fits(spans[r], *span)]
            if able:
                yield local, able
        day += timedelta(days=1)


# booking ---------------------------------------------------------------------------------
def book_slot(store: Store, tenant: Tenant, service: Service, start: datetime, *, name: str,
              phone: str, call_id: str, now: datetime, min_notice: timedelta | None = None,
              horizon: timedelta | None = None, resource: str | None = None) -> Appointment:
    """Write the appointment on the first resource able and free at ``start``.

    Raises :class:`SlotUnavailable` when the rules forbid the time (closed, past, too soon,
    too far) and :class:`SlotTaken` when every resource is busy. The overlap check is the
    store's atomic one, so two calls racing for the same slot cannot both win.
    """
    local, end, able = _prepare(tenant, service, start, now, min_notice, horizon, resource)

    def attempt(candidate: str) -> Appointment:
        return store.book(NewAppointment(
            tenant_id=tenant.id, resource=candidate, service=service.name, starts_at=local,
            ends_at=end, customer_name=name, customer_phone=phone, call_id=call_id,
            buffer_min=service.buffer_min))

    return _first_success(tenant, local, able, attempt)


def move_slot(store: Store, tenant: Tenant, service: Service, appointment: Appointment,
              new_start: datetime, *, now: datetime, call_id: str = "",
              min_notice: timedelta | None = None, horizon: timedelta | None = None,
              resource: str | None = None) -> Appointment:
    """Move ``appointment`` to ``new_start``, on its own resource when it is free then, else
    on the next resource able to perform the service. Same rules and errors as
    :func:`book_slot`; the store's move is atomic, and the old time is freed by it.
    ``call_id`` is the call asking for the move (recorded as ``moved_by_call``).
    """
    if appointment.status == "cancelled":
        raise StoreError(f"appointment {appointment.id} is cancelled: it cannot be moved")
    local, end, able = _prepare(tenant, service, new_start, now, min_notice, horizon, resource)
    if appointment.resource in able:  # the customer keeps their practitioner when possible
        able = [appointment.resource, *(r for r in able if r != appointment.resource)]

    def attempt(candidate: str) -> Appointment:
        return store.move(appointment.id, local, end, resource=candidate,
                          buffer_min=service.buffer_min, call_id=call_id)

    return _first_success(tenant, local, able, attempt)


def _prepare(tenant: Tenant, service: Service, start: datetime, now: datetime,
             min_notice: timedelta | None, horizon: timedelta | None,
             resource: str | None) -> tuple[datetime, datetime, list[str]]:
    check_slot(tenant, service, start, now=now, min_notice=min_notice, horizon=horizon,
               resource=resource)
    local = to_local(tenant, start)
    able = [r for r in _resources(tenant, service, resource)
            if _can_work(tenant, r, local, service.duration_min)]
    return local, _end(local, service.duration_min), able


def _first_success(tenant: Tenant, local: datetime, resources: Sequence[str],
                   attempt: Callable[[str], Appointment]) -> Appointment:
    last: SlotTaken | None = None
    for candidate in resources:
        try:
            return attempt(candidate)
        except SlotTaken as exc:
            last = exc
    assert last is not None  # check_slot made sure at least one resource works then
    raise SlotTaken(f"no resource of {tenant.id} is free at {local:%Y-%m-%d %H:%M %Z}: {last}",
                    conflict=last.conflict) from last
