"""The call summary's outbox rows: written by :meth:`Store.end_call` in its own transaction.

A call that ends in a message, a call-back request, a transfer, a noted or failed booking
or a hang-up in the middle of a request owes the business one short summary
(:mod:`agi.notify.summary` decides which calls and what it says). The controller hands
that summary to ``end_call``; the store adds what it holds itself (tenant, caller number,
start and end, outcome) and queues one ``call_summary`` row per target in the same
transaction as the end of the call, so either both are written or neither is.

Exactly once per call: the row's key is ``<tenant>:call_summary:<call id>:<target>`` and
the insert skips a key already there, so a spool replay or a restart that repeats
``end_call`` queues nothing twice, and every delivery attempt carries the same key.

:data:`SQLITE_MIGRATION` lets the SQLite outbox take the new kind (PostgreSQL:
``migrations/0008_call_summary.sql``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from agi.booking.outbox import NewOutboxRow, idempotency_key
from agi.booking.store import TargetsFor
from agi.errors import StoreError

KIND: Final = "call_summary"

# The facts the store owns: a summary handed in cannot override them.
STORE_FACTS = ("call_id", "tenant_id", "caller", "started_at", "ended_at", "outcome")

# SQLite cannot change a CHECK constraint: the outbox is rebuilt with the new kind.
SQLITE_MIGRATION: tuple[str, ...] = (
    """CREATE TABLE outbox_v7 (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant_id       TEXT NOT NULL,
        kind            TEXT NOT NULL CHECK (kind IN ('appointment_booked',
                            'appointment_moved', 'appointment_cancelled', 'message',
                            'lead', 'erasure', 'call_summary')),
        target          TEXT NOT NULL,
        payload         TEXT NOT NULL CHECK (json_valid(payload)),
        idempotency_key TEXT NOT NULL UNIQUE,
        status          TEXT NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'sent', 'dead')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        lease_until     TEXT,
        last_error      TEXT NOT NULL DEFAULT '',
        created_at      TEXT NOT NULL,
        sent_at         TEXT
    )""",
    "INSERT INTO outbox_v7 SELECT * FROM outbox",
    "DROP TABLE outbox",
    "ALTER TABLE outbox_v7 RENAME TO outbox",
    "CREATE INDEX outbox_due ON outbox (status, next_attempt_at, id)",
    "CREATE INDEX outbox_tenant ON outbox (tenant_id, created_at)",
)

# The insert of both stores: a key already queued (a repeated end_call) is left alone.
INSERT_SQLITE = ("INSERT INTO outbox (tenant_id, kind, target, payload, idempotency_key, "
                 "next_attempt_at, created_at) VALUES (?,?,?,?,?,?,?) "
                 "ON CONFLICT (idempotency_key) DO NOTHING")
INSERT_POSTGRES = ("INSERT INTO {outbox} (tenant_id, kind, target, payload, idempotency_key, "
                   "next_attempt_at, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s) "
                   "ON CONFLICT (idempotency_key) DO NOTHING")


def summary_rows(targets_for: TargetsFor | None, call_id: str, tenant_id: str, caller: str,
                 started_at: datetime, ended_at: datetime, outcome: str,
                 summary: Mapping[str, Any] | None) -> list[NewOutboxRow]:
    """The rows of one call's summary (none without a summary or without targets)."""
    if not summary or targets_for is None or not tenant_id:
        return []
    targets = list(targets_for(tenant_id, KIND))
    if len(set(targets)) != len(targets):
        raise StoreError(f"tenant {tenant_id!r} has duplicate notification targets {targets}")
    payload = {k: v for k, v in summary.items() if k not in STORE_FACTS}
    payload |= {"call_id": call_id, "tenant_id": tenant_id, "caller": caller,
                "started_at": started_at.isoformat(), "ended_at": ended_at.isoformat(),
                "outcome": outcome}
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True)
    return [NewOutboxRow(tenant_id, KIND, target, text,
                         idempotency_key(tenant_id, KIND, call_id, target))
            for target in targets]


def insert_args(rows: Sequence[NewOutboxRow], now: Any) -> list[tuple[Any, ...]]:
    """The parameters of :data:`INSERT_SQLITE` / :data:`INSERT_POSTGRES` (``now``: the
    store's own representation of the current time, due at once)."""
    return [(r.tenant_id, r.kind, r.target, r.payload, r.idempotency_key, now, now) for r in rows]
