"""The SQLite store's rows: column lists, time text and row-to-record converters.

Datetimes are stored as fixed-width UTC ISO-8601 text (``2026-03-12T14:30:00.000000+00:00``)
so that text order is time order and overlap checks can compare strings in SQL; they come
back as aware UTC datetimes. Naive datetimes are rejected with :class:`ValueError`.
Shared by every ``sqlite_*`` module; imports none of them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from agi.booking.outbox import load_payload
from agi.booking.store import Appointment, Caller, CallRecord, Lead, OutboxItem

_CALL_COLUMNS = "call_id, tenant_id, caller, started_at, ended_at, outcome, data, language, channel"
_OUTBOX_COLUMNS = ("id, tenant_id, kind, target, payload, idempotency_key, status, attempts, "
                   "next_attempt_at, last_error, created_at, sent_at")
_APPT_COLUMNS = ("id, tenant_id, resource, service, starts_at, ends_at, customer_name, "
                 "customer_phone, status, call_id, blocked_until, revision, moved_by_call")
_CALLER_COLUMNS = "tenant_id, phone, name, first_seen, last_seen, calls"
_LEAD_COLUMNS = "id, tenant_id, call_id, caller, kind, details, created_at"


def to_db_time(value: datetime) -> str:
    """Fixed-width UTC text for ``value``; :class:`ValueError` if it is naive."""
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()}: give a timezone-aware datetime")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def from_db_time(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _outbox_item(row: Sequence[Any]) -> OutboxItem:
    (id_, tenant_id, kind, target, payload, key, status, attempts, due, error, created,
     sent) = row
    return OutboxItem(id_, tenant_id, kind, target, load_payload(payload), key, status,
                      attempts, from_db_time(due), error, from_db_time(created),
                      from_db_time(sent) if sent else None)


def _call(row: Sequence[Any]) -> CallRecord:
    call_id, tenant_id, caller, started, ended, outcome, data, language, channel = row
    return CallRecord(call_id, tenant_id, caller, from_db_time(started),
                      from_db_time(ended) if ended else None, outcome, json.loads(data),
                      language, channel)


def _appointment(row: Sequence[Any]) -> Appointment:
    (id_, tenant_id, resource, service, starts, ends, name, phone, status, call_id, blocked,
     revision, moved_by) = row
    start, end = from_db_time(starts), from_db_time(ends)
    buffer_min = int((from_db_time(blocked) - end).total_seconds() // 60)
    return Appointment(id_, tenant_id, resource, service, start, end, name, phone, status,
                       call_id or "", buffer_min, revision, moved_by or "")


def _span(start: datetime, end: datetime, buffer_min: int) -> tuple[str, str, str]:
    """Database text of start, end and blocked_until; :class:`ValueError` if out of order."""
    if buffer_min < 0:
        raise ValueError(f"buffer must not be negative, not {buffer_min} minutes")
    first, last = to_db_time(start), to_db_time(end)
    if last <= first:
        raise ValueError(f"appointment ends ({last}) before it starts ({first})")
    return first, last, to_db_time(end + timedelta(minutes=buffer_min))


def _caller(row: Sequence[Any]) -> Caller:
    tenant_id, phone, name, first, last, calls = row
    return Caller(tenant_id, phone, name, from_db_time(first), from_db_time(last), calls)


def _lead(row: Sequence[Any]) -> Lead:
    id_, tenant_id, call_id, caller, kind, details, created = row
    return Lead(id_, tenant_id, call_id or "", caller, kind, json.loads(details),
                from_db_time(created))
