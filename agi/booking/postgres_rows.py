"""The PostgreSQL store's rows: column lists, UTC checks and row-to-record converters.

Shared by every ``postgres_*`` module; imports none of them. psycopg is the adapter's
import (:mod:`agi.booking.postgres` says which package to install when it is missing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb

from agi.booking.outbox import load_payload
from agi.booking.store import (
    Appointment,
    Caller,
    CallRecord,
    Lead,
    Message,
    OutboxItem,
    dump_call_data,
)
from agi.errors import SlotTaken

_CALL_COLUMNS = ("call_id", "tenant_id", "caller", "started_at", "ended_at", "outcome", "data",
                 "language", "channel")
_APPT_COLUMNS = ("id", "tenant_id", "resource", "service", "starts_at", "ends_at",
                 "customer_name", "customer_phone", "status", "call_id", "blocked_until",
                 "revision", "moved_by_call")
_CALLER_COLUMNS = ("tenant_id", "phone", "name", "first_seen", "last_seen", "calls")
_LEAD_COLUMNS = ("id", "tenant_id", "call_id", "caller", "kind", "details", "created_at")
_MESSAGE_COLUMNS = ("id", "tenant_id", "call_id", "caller", "name", "text", "created_at")
_OUTBOX_COLUMNS = ("id", "tenant_id", "kind", "target", "payload", "idempotency_key", "status",
                   "attempts", "next_attempt_at", "last_error", "created_at", "sent_at")


def aware_utc(value: datetime) -> datetime:
    """``value`` in UTC; :class:`ValueError` if it is naive (PostgreSQL would guess a zone)."""
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()}: give a timezone-aware datetime")
    return value.astimezone(UTC)


def _jsonb(data: Mapping[str, Any]) -> Jsonb:
    text = dump_call_data(data)
    return Jsonb(text, dumps=lambda already_text: already_text)


def _call(row: Sequence[Any]) -> CallRecord:
    call_id, tenant_id, caller, started, ended, outcome, data, language, channel = row
    return CallRecord(call_id, tenant_id, caller, started.astimezone(UTC),
                      ended.astimezone(UTC) if ended else None, outcome, data, language, channel)


def _appointment(row: Sequence[Any]) -> Appointment:
    (id_, tenant_id, resource, service, starts, ends, name, phone, status, call_id, blocked,
     revision, moved_by) = row
    buffer_min = int((blocked - ends).total_seconds() // 60)
    return Appointment(id_, tenant_id, resource, service, starts.astimezone(UTC),
                       ends.astimezone(UTC), name, phone, status, call_id or "", buffer_min,
                       revision, moved_by or "")


def _taken(resource: str, taken: Appointment) -> SlotTaken:
    return SlotTaken(f"{resource} is taken from {taken.starts_at.isoformat()} to "
                     f"{taken.blocked_until.isoformat()} (appointment {taken.id})", conflict=taken)


def _span(start: datetime, end: datetime, buffer_min: int) -> tuple[datetime, datetime, datetime]:
    """Start, end and blocked_until in UTC; :class:`ValueError` if out of order."""
    if buffer_min < 0:
        raise ValueError(f"buffer must not be negative, not {buffer_min} minutes")
    first, last = aware_utc(start), aware_utc(end)
    if last <= first:
        raise ValueError(f"appointment ends ({last.isoformat()}) before it starts "
                         f"({first.isoformat()})")
    return first, last, last + timedelta(minutes=buffer_min)


def _caller(row: Sequence[Any]) -> Caller:
    tenant_id, phone, name, first, last, calls = row
    return Caller(tenant_id, phone, name, first.astimezone(UTC), last.astimezone(UTC), calls)


def _lead(row: Sequence[Any]) -> Lead:
    id_, tenant_id, call_id, caller, kind, details, created = row
    return Lead(id_, tenant_id, call_id or "", caller, kind, details, created.astimezone(UTC))


def _jsonb_text(text: str) -> Jsonb:
    return Jsonb(text, dumps=lambda already_text: already_text)


def _outbox_item(row: Sequence[Any]) -> OutboxItem:
    (id_, tenant_id, kind, target, payload, key, status, attempts, due, error, created,
     sent) = row
    return OutboxItem(id_, tenant_id, kind, target, load_payload(payload), key, status, attempts,
                      due.astimezone(UTC), error, created.astimezone(UTC),
                      sent.astimezone(UTC) if sent else None)


def _message(row: Sequence[Any]) -> Message:
    id_, tenant_id, call_id, caller, name, text, created = row
    return Message(id_, tenant_id, call_id or "", caller, name, text, created.astimezone(UTC))
