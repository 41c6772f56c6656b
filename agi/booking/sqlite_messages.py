"""Messages and leads on the SQLite store: what a caller leaves for the business.

Each is queued for the business's notification targets in the transaction that writes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from agi.booking.outbox import lead_payload, message_payload, outbox_rows
from agi.booking.sqlite_outbox import SqliteOutbox
from agi.booking.sqlite_rows import _LEAD_COLUMNS, _lead, from_db_time, to_db_time
from agi.booking.store import Lead, Message, dump_call_data


class SqliteMessages(SqliteOutbox):
    """The messages and leads part of :class:`agi.booking.sqlite.SqliteStore`."""

    # messages -------------------------------------------------------------------
    def add_message(self, tenant_id: str, call_id: str, caller: str, name: str, text: str,
                    at: datetime) -> Message:
        when = to_db_time(at)
        with self._write(f"add_message {tenant_id}") as conn:
            cur = conn.execute("INSERT INTO messages (tenant_id, call_id, caller, name, text, "
                               "created_at) VALUES (?,?,?,?,?,?)",
                               (tenant_id, call_id or None, caller, name, text, when))
            assert cur.lastrowid is not None
            message = Message(cur.lastrowid, tenant_id, call_id, caller, name, text,
                              from_db_time(when))
            self._queue(conn, to_db_time(datetime.now(UTC)), outbox_rows(
                self._targets_for, tenant_id, "message", message.id, message_payload(message)))
        return message

    def messages(self, tenant_id: str) -> Sequence[Message]:
        """The tenant's messages, oldest first."""
        rows = self._read("messages", "SELECT id, tenant_id, call_id, caller, name, text, "
                          "created_at FROM messages WHERE tenant_id = ? ORDER BY created_at, id",
                          (tenant_id,))
        return [Message(r[0], r[1], r[2] or "", r[3], r[4], r[5], from_db_time(r[6]))
                for r in rows]

    # leads ----------------------------------------------------------------------
    def add_lead(self, tenant_id: str, call_id: str, caller: str, kind: str,
                 details: Mapping[str, Any], at: datetime) -> Lead:
        if not kind:
            raise ValueError("a lead needs a kind")
        when, encoded = to_db_time(at), dump_call_data(details)
        with self._write(f"add_lead {tenant_id}") as conn:
            row = conn.execute(
                "INSERT INTO leads (tenant_id, call_id, caller, kind, details, created_at) "
                f"VALUES (?,?,?,?,?,?) RETURNING {_LEAD_COLUMNS}",
                (tenant_id, call_id or None, caller, kind, encoded, when)).fetchone()
            lead = _lead(row)
            self._queue(conn, to_db_time(datetime.now(UTC)), outbox_rows(
                self._targets_for, tenant_id, "lead", lead.id, lead_payload(lead)))
        return lead

    def leads(self, tenant_id: str) -> Sequence[Lead]:
        rows = self._read("leads", f"SELECT {_LEAD_COLUMNS} FROM leads WHERE tenant_id = ? "
                          "ORDER BY created_at, id", (tenant_id,))
        return [_lead(r) for r in rows]
