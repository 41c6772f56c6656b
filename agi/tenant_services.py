"""What a tenant offers and who does it: services, resources (practitioners, rooms), their
weekly hours and closures, parsed from ``[[tenants.services]]`` / ``[[tenants.resource]]``
tables with errors that name the key (:class:`agi.errors.ConfigError`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from agi.errors import ConfigError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
# Weekday index (0 = Monday) -> ((open, close), ...), wall-clock times of the tenant's zone.
WeeklyHours = Mapping[int, tuple[tuple[time, time], ...]]


@dataclass(frozen=True)
class Service:
    """What a caller can book: how long it lasts and who can perform it."""

    name: str
    duration_min: int
    aliases: tuple[str, ...] = ()
    # Time kept free after each appointment (cleaning a room, writing notes): the resource
    # is blocked for [start, end + buffer) but the appointment itself ends at end.
    buffer_min: int = 0
    # The resources able to perform it, in preference order; () = every resource.
    resources: tuple[str, ...] = ()
    # What a caller asking for "un rendez-vous" / "an appointment" without saying what for
    # gets. A tenant with several services and no default asks "which service?".
    default: bool = False


@dataclass(frozen=True)
class Closure:
    """A stretch of local wall-clock time when nobody can be booked: [start, end).

    Naive datetimes in the tenant's time zone, as written in the configuration
    (``"2026-12-25"`` is the whole day, ``"2026-12-24T14:00/2026-12-24T18:00"`` an
    afternoon), so a closure follows the wall clock across daylight-saving changes.
    """

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Resource:
    """A practitioner or a room. Empty ``opening_hours`` means the tenant's own; when given,
    the resource works only where its hours and the tenant's overlap."""

    name: str
    opening_hours: WeeklyHours = field(default_factory=dict)
    closures: tuple[Closure, ...] = ()  # leave, training days...
    # Other words callers use for it ("Sophie", "la dentiste"); the name's own words (title
    # dropped) are always understood.
    aliases: tuple[str, ...] = ()
    # How the agent says it in a sentence ("le docteur Martin", "la docteure Leroy"); ""
    # = made from the name (agi.dialogue.catalogue.spoken_resource).
    spoken: str = ""


_RESOURCE_KEYS = {"name", "opening_hours", "closures", "aliases", "spoken"}
_SERVICE_KEYS = {"name", "duration_min", "aliases", "buffer_min", "resources", "default"}
# A caller's words are matched against these: longer ones are never said on the phone.
MAX_ALIAS_CHARS = 60


def aliases(where: str, raw: Any) -> tuple[str, ...]:
    """A list of words or short phrases callers say, each non-empty and short."""
    if raw is None:
        return ()
    if (not isinstance(raw, list)
            or not all(isinstance(a, str) and a.strip() and len(a) <= MAX_ALIAS_CHARS for a in raw)):
        raise ConfigError(where, f"expected a list of words callers say, got {raw!r}",
                          f'e.g. aliases = ["détartrage", "nettoyage"]; each at most {MAX_ALIAS_CHARS} characters')
    return tuple(a.strip() for a in raw)


def parse_services(where: str, raw: Any, resources: tuple[str, ...]) -> tuple[Service, ...]:
    """``[[tenants.services]]``: at least one, names and aliases distinct, at most one default,
    performed by known resources."""
    if not isinstance(raw, list):
        raise ConfigError(where, "must be a list of tables", "write [[tenants.services]] entries")
    services = tuple(_service(f"{where}[{i}]", s) for i, s in enumerate(raw))
    if not services:
        raise ConfigError(where, "at least one service is required",
                          'add [[tenants.services]] with name and duration_min')
    seen: dict[str, str] = {}
    for i, svc in enumerate(services):
        unknown = [r for r in svc.resources if r not in resources]
        if unknown:
            raise ConfigError(f"{where}[{i}].resources", f"unknown resource {unknown[0]!r}",
                              f"known: {', '.join(resources)}")
        for word in {svc.name.lower(), *(a.lower() for a in svc.aliases)}:
            if seen.setdefault(word, svc.name) != svc.name:
                raise ConfigError(f"{where}[{i}].aliases", f"{word!r} also names {seen[word]!r}",
                                  "each word may name one service only")
    if sum(s.default for s in services) > 1:
        raise ConfigError(where, "more than one service has default = true", "keep one")
    return services


def parse_resources(where: str, raw: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[Resource, ...]]:
    """Resource names and details: ``resources = [...]`` or ``[[tenants.resource]]`` tables."""
    if "resources" in raw and "resource" in raw:
        raise ConfigError(f"{where}.resource", "both resources and [[tenants.resource]] are set",
                          "list the names in resources, or describe each one as a table; not both")
    tables = raw.get("resource")
    if tables is None:
        names = raw.get("resources", ["default"])
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise ConfigError(f"{where}.resources", f"expected a list of names, got {names!r}")
        if not names:
            raise ConfigError(f"{where}.resources", "at least one resource is required")
        if len(set(names)) != len(names):
            raise ConfigError(f"{where}.resources", "a resource is listed twice")
        return tuple(names), ()
    if not isinstance(tables, list) or not tables:
        raise ConfigError(f"{where}.resource", "expected [[tenants.resource]] tables",
                          '{ name = "Dr Martin", opening_hours = { mon = ["09:00-12:00"] } }')
    details = []
    for i, table in enumerate(tables):
        at = f"{where}.resource[{i}]"
        if not isinstance(table, Mapping):
            raise ConfigError(at, "must be a table", 'e.g. { name = "Dr Martin" }')
        for key in table:
            if key not in _RESOURCE_KEYS:
                raise ConfigError(f"{at}.{key}", "unknown resource setting",
                                  f"known: {', '.join(sorted(_RESOURCE_KEYS))}")
        name = table.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{at}.name", "missing")
        spoken = table.get("spoken", "")
        if not isinstance(spoken, str):
            raise ConfigError(f"{at}.spoken", f"expected a string, got {spoken!r}",
                              'e.g. spoken = "la docteure Leroy"')
        details.append(Resource(name=name.strip(),
                                opening_hours=parse_hours(f"{at}.opening_hours", table.get("opening_hours", {})),
                                closures=parse_closures(f"{at}.closures", table.get("closures", [])),
                                aliases=aliases(f"{at}.aliases", table.get("aliases")),
                                spoken=spoken.strip()))
    names = [d.name for d in details]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}.resource", "two resources have the same name")
    return tuple(names), tuple(details)


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def parse_closures(where: str, raw: Any) -> tuple[Closure, ...]:
    """``"2026-12-25"`` (a day), ``"2026-08-03/2026-08-14"`` (days, both included) or
    ``"2026-12-24T14:00/2026-12-24T18:00"`` (local times, end excluded)."""
    if not isinstance(raw, list):
        raise ConfigError(where, f"expected a list, got {raw!r}", 'e.g. ["2026-12-25"]')
    out = []
    for i, text in enumerate(raw):
        if not isinstance(text, str):
            raise ConfigError(f"{where}[{i}]", f"expected a string, got {text!r}")
        first, _, second = text.strip().partition("/")
        second = second or first
        try:
            if _DAY.fullmatch(first) and _DAY.fullmatch(second):
                start = datetime.combine(date.fromisoformat(first), time())
                end = datetime.combine(date.fromisoformat(second) + timedelta(days=1), time())
            elif _MOMENT.fullmatch(first) and _MOMENT.fullmatch(second) and "/" in text:
                start, end = datetime.fromisoformat(first), datetime.fromisoformat(second)
            else:
                raise ValueError(text)
        except ValueError as exc:
            raise ConfigError(f"{where}[{i}]", f"bad closure {text!r}",
                              'write "2026-12-25", "2026-08-03/2026-08-14" or '
                              '"2026-12-24T14:00/2026-12-24T18:00"') from exc
        if end <= start:
            raise ConfigError(f"{where}[{i}]", f"closure {text!r} ends before it starts")
        out.append(Closure(start, end))
    return tuple(sorted(out, key=lambda c: c.start))


def whole(where: str, raw: Any, default: int, low: int, high: int) -> int:
    if raw is None:
        return default
    if not isinstance(raw, int) or isinstance(raw, bool) or not low <= raw <= high:
        raise ConfigError(where, f"invalid value {raw!r}", f"a whole number from {low} to {high}")
    return raw


def _service(where: str, raw: Mapping[str, Any]) -> Service:
    for key in raw:
        if key not in _SERVICE_KEYS:
            raise ConfigError(f"{where}.{key}", "unknown service setting",
                              f"known: {', '.join(sorted(_SERVICE_KEYS))}")
    name = raw.get("name")
    duration = raw.get("duration_min")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}.name", "missing")
    if not isinstance(duration, int) or not 5 <= duration <= 480:
        raise ConfigError(f"{where}.duration_min", f"invalid duration {duration!r}", "minutes, 5 to 480")
    who = raw.get("resources", [])
    if not isinstance(who, list) or not all(isinstance(r, str) for r in who):
        raise ConfigError(f"{where}.resources", f"expected a list of resource names, got {who!r}")
    default = raw.get("default", False)
    if not isinstance(default, bool):
        raise ConfigError(f"{where}.default", f"expected true or false, got {default!r}")
    return Service(name=name, duration_min=duration, aliases=aliases(f"{where}.aliases", raw.get("aliases")),
                   buffer_min=whole(f"{where}.buffer_min", raw.get("buffer_min"), 0, 0, 240),
                   resources=tuple(who), default=default)


def parse_hours(where: str, raw: Mapping[str, Any]) -> dict[int, tuple[tuple[time, time], ...]]:
    out: dict[int, tuple[tuple[time, time], ...]] = {}
    for day, spans in raw.items():
        if day not in WEEKDAYS:
            raise ConfigError(f"{where}.{day}", "unknown day", f"use {', '.join(WEEKDAYS)}")
        parsed = []
        for span in spans:
            m = _HOURS.match(span)
            if not m:
                raise ConfigError(f"{where}.{day}", f"bad span {span!r}", 'write "09:00-12:00"')
            h1, m1, h2, m2 = map(int, m.groups())
            try:
                start, end = time(h1, m1), time(h2, m2)
            except ValueError as exc:
                raise ConfigError(f"{where}.{day}", f"bad time in {span!r}") from exc
            if end <= start:
                raise ConfigError(f"{where}.{day}", f"span {span!r} ends before it starts")
            parsed.append((start, end))
        out[WEEKDAYS.index(day)] = tuple(sorted(parsed))
    return out
