"""The outbox of notifications to the business on the SQLite store.

Rows are queued by the write transaction that books, moves, cancels or takes a message
(:meth:`SqliteOutbox._queue`), then leased by workers: the lease is taken in one
``UPDATE`` under SQLite's write lock, so two claimers never share an item.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta

from agi.booking.outbox import NewOutboxRow
from agi.booking.sqlite_connection import SqliteConnections
from agi.booking.sqlite_rows import _OUTBOX_COLUMNS, _outbox_item, to_db_time
from agi.booking.store import OutboxItem, OutboxStatus, TargetsFor
from agi.errors import StoreError


class SqliteOutbox(SqliteConnections):
    """The outbox part of :class:`agi.booking.sqlite.SqliteStore`."""

    # the tenant's notification targets (set by the store): None queues nothing
    _targets_for: TargetsFor | None

    @staticmethod
    def _queue(conn: sqlite3.Connection, now: str, rows: Sequence[NewOutboxRow]) -> None:
        """Insert outbox rows inside the caller's write transaction, due at once."""
        conn.executemany(
            "INSERT INTO outbox (tenant_id, kind, target, payload, idempotency_key, "
            "next_attempt_at, created_at) VALUES (?,?,?,?,?,?,?)",
            [(r.tenant_id, r.kind, r.target, r.payload, r.idempotency_key, now, now)
             for r in rows])

    def claim_outbox(self, now: datetime, limit: int, lease_s: float) -> Sequence[OutboxItem]:
        """Lease due items in one UPDATE under the write lock: two claimers never share one."""
        at = to_db_time(now)
        until = to_db_time(now + timedelta(seconds=lease_s))
        with self._write("claim_outbox") as conn:
            rows = conn.execute(
                f"UPDATE outbox SET lease_until = ? WHERE id IN (SELECT id FROM outbox "
                "WHERE status = 'pending' AND next_attempt_at <= ? "
                "AND (lease_until IS NULL OR lease_until <= ?) "
                f"ORDER BY next_attempt_at, id LIMIT ?) RETURNING {_OUTBOX_COLUMNS}",
                (until, at, at, limit)).fetchall()
        return sorted((_outbox_item(r) for r in rows), key=lambda i: (i.next_attempt_at, i.id))

    def outbox_sent(self, item_id: int, at: datetime) -> None:
        with self._write(f"outbox_sent {item_id}") as conn:
            cur = conn.execute("UPDATE outbox SET status = 'sent', sent_at = ?, lease_until = NULL "
                               "WHERE id = ? AND status = 'pending'", (to_db_time(at), item_id))
            if cur.rowcount == 0:
                self._require_outbox(conn, item_id)

    def outbox_failed(self, item_id: int, error: str, next_attempt_at: datetime,
                      dead: bool = False, *, attempted: bool = True) -> None:
        with self._write(f"outbox_failed {item_id}") as conn:
            cur = conn.execute(
                "UPDATE outbox SET attempts = attempts + ?, last_error = ?, next_attempt_at = ?, "
                "status = CASE WHEN ? THEN 'dead' ELSE status END, lease_until = NULL "
                "WHERE id = ? AND status = 'pending'",
                (int(attempted), error, to_db_time(next_attempt_at), dead, item_id))
            if cur.rowcount == 0:
                self._require_outbox(conn, item_id)

    @staticmethod
    def _require_outbox(conn: sqlite3.Connection, item_id: int) -> None:
        # Already sent or dead (another worker finished it) is fine; unknown is a bug.
        if conn.execute("SELECT 1 FROM outbox WHERE id = ?", (item_id,)).fetchone() is None:
            raise StoreError(f"no outbox item {item_id}")

    def outbox(self, tenant_id: str | None = None,
               status: OutboxStatus | None = None) -> Sequence[OutboxItem]:
        rows = self._read("outbox", f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE "
                          "(? IS NULL OR tenant_id = ?) AND (? IS NULL OR status = ?) ORDER BY id",
                          (tenant_id, tenant_id, status, status))
        return [_outbox_item(r) for r in rows]
