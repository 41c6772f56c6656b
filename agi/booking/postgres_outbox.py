"""The outbox of notifications to the business on the PostgreSQL store.

Rows are inserted by the transaction that books, cancels or takes a message
(``migrations/0002_outbox.sql``); workers claim them with ``FOR UPDATE SKIP LOCKED`` and a
lease, so several hosts can deliver side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from agi.booking.outbox import NewOutboxRow
from agi.booking.postgres_pool import PostgresConnections
from agi.booking.postgres_rows import _jsonb_text, _outbox_item, aware_utc
from agi.booking.store import OutboxItem, OutboxStatus, TargetsFor
from agi.errors import StoreError


class PostgresOutbox(PostgresConnections):
    """The outbox part of :class:`agi.booking.postgres.PostgresStore`."""

    # the tenant's notification targets (set by the store): None queues nothing
    _targets_for: TargetsFor | None

    # outbox ---------------------------------------------------------------------------
    def _queue(self, conn: psycopg.Connection[Any], rows: Sequence[NewOutboxRow]) -> None:
        """Insert outbox rows inside the caller's transaction, due at once."""
        if not rows:
            return
        # The application's clock, as SQLite uses: workers compare due times with it.
        now = datetime.now(UTC)
        with conn.cursor() as cur:
            cur.executemany(self._q.insert_outbox, [
                (r.tenant_id, r.kind, r.target, _jsonb_text(r.payload), r.idempotency_key, now, now)
                for r in rows])

    def claim_outbox(self, now: datetime, limit: int, lease_s: float) -> Sequence[OutboxItem]:
        """Lease due items; ``SKIP LOCKED`` lets concurrent claimers pass each other."""
        at = aware_utc(now)
        rows = self._rows("claim_outbox", self._q.claim_outbox,
                          (at + timedelta(seconds=lease_s), at, at, limit))
        return sorted((_outbox_item(r) for r in rows), key=lambda i: (i.next_attempt_at, i.id))

    def outbox_sent(self, item_id: int, at: datetime) -> None:
        with self._tx(f"outbox_sent {item_id}") as conn:
            if conn.execute(self._q.outbox_sent, (aware_utc(at), item_id)).rowcount == 0:
                self._require_outbox(conn, item_id)

    def outbox_failed(self, item_id: int, error: str, next_attempt_at: datetime,
                      dead: bool = False, *, attempted: bool = True) -> None:
        args = (int(attempted), error, aware_utc(next_attempt_at), dead, item_id)
        with self._tx(f"outbox_failed {item_id}") as conn:
            if conn.execute(self._q.outbox_failed, args).rowcount == 0:
                self._require_outbox(conn, item_id)

    def _require_outbox(self, conn: psycopg.Connection[Any], item_id: int) -> None:
        # Already sent or dead (another worker finished it) is fine; unknown is a bug.
        if conn.execute(self._q.outbox_exists, (item_id,)).fetchone() is None:
            raise StoreError(f"no outbox item {item_id}")

    def outbox(self, tenant_id: str | None = None,
               status: OutboxStatus | None = None) -> Sequence[OutboxItem]:
        rows = self._rows("outbox", self._q.outbox, (tenant_id, tenant_id, status, status))
        return [_outbox_item(r) for r in rows]
