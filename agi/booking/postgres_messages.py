"""Messages and leads on the PostgreSQL store: what a caller leaves for the business.

Each is queued for the business's notification targets in the transaction that writes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from agi.booking.outbox import lead_payload, message_payload, outbox_rows
from agi.booking.postgres_outbox import PostgresOutbox
from agi.booking.postgres_rows import _jsonb, _lead, _message, aware_utc
from agi.booking.store import Lead, Message


class PostgresMessages(PostgresOutbox):
    """The messages and leads part of :class:`agi.booking.postgres.PostgresStore`."""

    # messages ---------------------------------------------------------------------------
    def add_message(self, tenant_id: str, call_id: str, caller: str, name: str, text: str,
                    at: datetime) -> Message:
        when = aware_utc(at)
        with self._tx(f"add_message {tenant_id}") as conn:
            row = conn.execute(self._q.add_message,
                               (tenant_id, call_id or None, caller, name, text, when)).fetchone()
            assert row is not None
            message = _message(row)
            self._queue(conn, outbox_rows(self._targets_for, tenant_id, "message", message.id,
                                          message_payload(message)))
        return message

    def messages(self, tenant_id: str) -> Sequence[Message]:
        """The tenant's messages, oldest first."""
        return [_message(r) for r in self._rows("messages", self._q.messages, (tenant_id,))]

    # leads ------------------------------------------------------------------------------
    def add_lead(self, tenant_id: str, call_id: str, caller: str, kind: str,
                 details: Mapping[str, Any], at: datetime) -> Lead:
        if not kind:
            raise ValueError("a lead needs a kind")
        args = (tenant_id, call_id or None, caller, kind, _jsonb(details), aware_utc(at))
        with self._tx(f"add_lead {tenant_id}") as conn:
            row = conn.execute(self._q.add_lead, args).fetchone()
            assert row is not None
            lead = _lead(row)
            self._queue(conn, outbox_rows(self._targets_for, tenant_id, "lead", lead.id,
                                          lead_payload(lead)))
        return lead

    def leads(self, tenant_id: str) -> Sequence[Lead]:
        return [_lead(r) for r in self._rows("leads", self._q.leads, (tenant_id,))]
