"""What both stores write into the outbox: one row per notification target, its payload
and its idempotency key.

The payload is a self-contained JSON snapshot of what happened (the appointment or the
message as it was when the transaction committed), so a delivery made hours later, after
a move or an erasure of the call, still says what the business was told would happen.
The idempotency key is ``<tenant>:<kind>:<entity id>:<target>``: readable in a receiver's
log, unique per row, and identical for every attempt of that row, which is what lets a
receiver drop a repeated delivery (see docs/notifications.md). An appointment can be
moved several times, so a move's entity id carries the appointment's revision
(``42.2``: the second move of appointment 42).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agi.booking.store import Appointment, Lead, Message, OutboxKind, TargetsFor
from agi.errors import StoreError

KINDS: tuple[OutboxKind, ...] = ("appointment_booked", "appointment_moved", "appointment_cancelled",
                                  "message", "lead", "erasure", "call_summary")


@dataclass(frozen=True)
class NewOutboxRow:
    """An outbox row about to be inserted (the store adds id, status and times)."""

    tenant_id: str
    kind: OutboxKind
    target: str
    payload: str  # JSON text
    idempotency_key: str


def idempotency_key(tenant_id: str, kind: OutboxKind, entity_id: int | str, target: str) -> str:
    return f"{tenant_id}:{kind}:{entity_id}:{target}"


def appointment_payload(appt: Appointment) -> dict[str, Any]:
    return {
        "appointment_id": appt.id, "tenant_id": appt.tenant_id, "resource": appt.resource,
        "service": appt.service, "starts_at": appt.starts_at.isoformat(),
        "ends_at": appt.ends_at.isoformat(), "customer_name": appt.customer_name,
        "customer_phone": appt.customer_phone, "status": appt.status, "call_id": appt.call_id,
        "revision": appt.revision,
    }


def moved_payload(before: Appointment, after: Appointment) -> dict[str, Any]:
    """The appointment as moved, with where it was before (``previous``)."""
    return {**appointment_payload(after), "moved_by_call": after.moved_by_call,
            "previous": {"resource": before.resource, "starts_at": before.starts_at.isoformat(),
                         "ends_at": before.ends_at.isoformat()}}


def lead_payload(lead: Lead) -> dict[str, Any]:
    return {"lead_id": lead.id, "tenant_id": lead.tenant_id, "call_id": lead.call_id,
            "caller": lead.caller, "kind": lead.kind, "details": dict(lead.details),
            "created_at": lead.created_at.isoformat()}


def message_payload(msg: Message) -> dict[str, Any]:
    return {
        "message_id": msg.id, "tenant_id": msg.tenant_id, "call_id": msg.call_id,
        "caller": msg.caller, "name": msg.name, "text": msg.text,
        "created_at": msg.created_at.isoformat(),
    }


def outbox_rows(targets_for: TargetsFor | None, tenant_id: str, kind: OutboxKind,
                entity_id: int | str, payload: Mapping[str, Any]) -> list[NewOutboxRow]:
    """One row per target of the tenant (none without ``targets_for``)."""
    if targets_for is None:
        return []
    targets = list(targets_for(tenant_id, kind))
    if len(set(targets)) != len(targets):
        raise StoreError(f"tenant {tenant_id!r} has duplicate notification targets {targets}")
    text = json.dumps(dict(payload), ensure_ascii=False, sort_keys=True)
    return [NewOutboxRow(tenant_id, kind, target, text,
                         idempotency_key(tenant_id, kind, entity_id, target))
            for target in targets]


def load_payload(text: str | Mapping[str, Any]) -> Mapping[str, Any]:
    """The payload as stored (SQLite gives JSON text, PostgreSQL a decoded jsonb)."""
    if isinstance(text, str):
        loaded: Mapping[str, Any] = json.loads(text)
        return loaded
    return text
