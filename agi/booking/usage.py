"""Usage for billing: what each call counts, per tenant and local day, kept past the purge.

At the end of every call the store adds the call to ``usage_daily`` (tenant, the tenant's
local day, outcome) in the same transaction as the call's end, and only once: the call
row's ``usage_counted`` flag is set by the same statement that reads it, so a replayed
``end_call`` (the spool after an outage, a retry) counts nothing twice; once the call
itself is purged a replay fails on the missing call. The aggregates hold no personal data
(no number, no call id, no words) and are kept for the billing retention
(``[usage] retention_days``), untouched by the personal-data purge.

The SQL is written once for both stores (``?`` parameters and ``{table}`` names, which
the PostgreSQL store turns into ``%s`` and schema-qualified identifiers); each store
runs it in its own transactions through :class:`LedgerRunner`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

Rounding = Literal["minute", "second"]
ROUNDINGS: tuple[Rounding, ...] = ("minute", "second")
# One call counted as these outcomes is a transfer (the caller reached a human).
TRANSFER_OUTCOMES = frozenset({"transfer"})
CANCEL_OUTCOMES = frozenset({"cancelled"})

Statement = tuple[str, Sequence[Any]]
Execute = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]


class LedgerRunner(Protocol):
    """Runs statements in one transaction of a store; the rows each one returned."""

    def __call__(self, action: str, statements: Sequence[Statement]) -> list[list[tuple[Any, ...]]]: ...


@dataclass(frozen=True)
class UsagePolicy:
    """How calls are billed: the rounding of connected time, and each tenant's zone (the
    day a call counts for is the tenant's local day when it started)."""

    rounding: Rounding = "minute"
    zones: Mapping[str, str] = field(default_factory=dict)  # tenant id -> IANA zone

    def billed_seconds(self, connected_s: int) -> int:
        """Seconds billed for a call connected ``connected_s`` seconds: per started minute
        (1..60 s -> 60, 61 s -> 120) or to the second."""
        if connected_s <= 0:
            return 0
        if self.rounding == "minute":
            return math.ceil(connected_s / 60) * 60
        return connected_s

    def day(self, tenant_id: str, at: datetime) -> date:
        zone = ZoneInfo(self.zones.get(tenant_id, "UTC"))
        return at.astimezone(zone).date()


@dataclass(frozen=True)
class Counts:
    """What usage counts (summed over calls)."""

    calls: int = 0
    connected_s: int = 0
    billed_s: int = 0
    bookings: int = 0
    moves: int = 0
    cancellations: int = 0
    messages: int = 0
    leads: int = 0
    transfers: int = 0


COUNTERS = tuple(f.name for f in fields(Counts))


@dataclass(frozen=True, kw_only=True)
class UsageDay(Counts):
    """One (tenant, local day, outcome) aggregate."""

    tenant_id: str
    day: date
    outcome: str


@dataclass(frozen=True, kw_only=True)
class UsageTotals(Counts):
    """A tenant's usage over a period (a month), summed from :class:`UsageDay` rows."""

    tenant_id: str
    by_outcome: Mapping[str, int] = field(default_factory=dict)

    @property
    def billed_minutes(self) -> float:
        return self.billed_s / 60


def totals(rows: Sequence[UsageDay]) -> list[UsageTotals]:
    """Per-tenant totals of ``rows``, tenants in name order."""
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        acc = out.setdefault(row.tenant_id, {name: 0 for name in COUNTERS} | {"by_outcome": {}})
        for name in COUNTERS:
            acc[name] += getattr(row, name)
        acc["by_outcome"][row.outcome] = acc["by_outcome"].get(row.outcome, 0) + row.calls
    return [UsageTotals(tenant_id=tenant, **acc) for tenant, acc in sorted(out.items())]


def month_days(month: str) -> tuple[date, date]:
    """First and last day of ``YYYY-MM``; :class:`ValueError` names the expected form."""
    try:
        first = datetime.strptime(month, "%Y-%m").date()
    except ValueError as exc:
        raise ValueError(f"month {month!r} is not YYYY-MM (e.g. 2026-11)") from exc
    nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, nxt - timedelta(days=1)


# SQL shared by both stores --------------------------------------------------------------
_CLAIM = ("UPDATE {calls} SET usage_counted = 1 WHERE call_id = ? AND usage_counted = 0 "
          "AND ended_at IS NOT NULL RETURNING tenant_id, started_at, ended_at, outcome")
_COUNTS = ("SELECT (SELECT COUNT(*) FROM {appointments} WHERE call_id = ?), "
           "(SELECT COUNT(*) FROM {appointments} WHERE moved_by_call = ?), "
           "(SELECT COUNT(*) FROM {messages} WHERE call_id = ?), "
           "(SELECT COUNT(*) FROM {leads} WHERE call_id = ?)")
_ADD = ("INSERT INTO {usage_daily} AS u (tenant_id, day, outcome, " + ", ".join(COUNTERS)
        + ") VALUES (?, ?, ?, " + ", ".join("?" for _ in COUNTERS) + ") "
        "ON CONFLICT (tenant_id, day, outcome) DO UPDATE SET "
        + ", ".join(f"{c} = u.{c} + excluded.{c}" for c in COUNTERS))


def as_utc(value: Any) -> datetime:
    """A time column as aware UTC (SQLite gives text, PostgreSQL a datetime)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"expected a time, got {value!r}")
    return value.astimezone(UTC)


def count_call(execute: Execute, call_id: str, policy: UsagePolicy) -> UsageDay | None:
    """Add the ended call to the usage aggregates, inside the caller's transaction.

    Returns what was added, or ``None`` when the call was counted already (or has not
    ended): that is what makes a replayed end of call harmless."""
    claimed = execute(_CLAIM, (call_id,))
    if not claimed:
        return None
    tenant_id, started, ended, outcome = claimed[0]
    start, end = as_utc(started), as_utc(ended)
    connected = max(0, math.ceil((end - start).total_seconds()))
    bookings, moves, messages, leads = execute(_COUNTS, (call_id,) * 4)[0]
    row = UsageDay(tenant_id=tenant_id, day=policy.day(tenant_id, start),
                   outcome=outcome or "unknown", calls=1,
                   connected_s=connected, billed_s=policy.billed_seconds(connected),
                   bookings=int(bookings), moves=int(moves),
                   cancellations=int(outcome in CANCEL_OUTCOMES), messages=int(messages),
                   leads=int(leads), transfers=int(outcome in TRANSFER_OUTCOMES))
    execute(_ADD, (row.tenant_id, row.day.isoformat(), row.outcome,
                   *(getattr(row, c) for c in COUNTERS)))
    return row


def read_usage(run: LedgerRunner, first: date, last: date,
               tenant_id: str | None = None) -> list[UsageDay]:
    """The aggregates of days ``first``..``last`` (inclusive), by tenant, day, outcome."""
    args: list[Any] = [first.isoformat(), last.isoformat()]
    if tenant_id is not None:
        args.append(tenant_id)
    (rows,) = run("usage", [(
        "SELECT tenant_id, day, outcome, " + ", ".join(COUNTERS) + " FROM {usage_daily} "
        "WHERE day >= ? AND day <= ?" + (" AND tenant_id = ?" if tenant_id is not None else "")
        + " ORDER BY tenant_id, day, outcome", args)])
    return [UsageDay(tenant_id=r[0], day=date.fromisoformat(str(r[1])), outcome=r[2],
                     **{c: int(v) for c, v in zip(COUNTERS, r[3:], strict=True)}) for r in rows]


def claim_alert(run: LedgerRunner, tenant_id: str, month: str, kind: str, at: datetime) -> bool:
    """True the first time (tenant, month, kind) is claimed: an alert is sent once."""
    (rows,) = run(f"usage alert {tenant_id}", [(
        "INSERT INTO {usage_alerts} (tenant_id, month, kind, sent_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING RETURNING 1", (tenant_id, month, kind, at))])
    return bool(rows)


def purge_usage(run: LedgerRunner, before: date) -> int:
    """Delete aggregates of days before ``before`` (the billing retention); rows removed."""
    (rows,) = run("purge usage", [
        ("DELETE FROM {usage_daily} WHERE day < ? RETURNING 1", (before.isoformat(),))])
    run("purge usage alerts", [("DELETE FROM {usage_alerts} WHERE month < ?",
                                (before.isoformat()[:7],))])
    return len(rows)
