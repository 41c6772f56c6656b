"""The ledger (:mod:`agi.booking.ledger`) on the SQLite store: its schema and runner.

:data:`MIGRATION` is the SQLite schema step for usage, latency, the access log and the
console (PostgreSQL: ``migrations/0005_usage_access.sql``). :class:`SqliteLedger` runs the
shared SQL on the calling thread's connection, in one ``BEGIN IMMEDIATE`` transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agi.booking.ledger import LEDGER_TABLES, Ledger
from agi.booking.sqlite_rows import to_db_time
from agi.booking.usage import Statement, UsageDay, count_call

MIGRATION: tuple[str, ...] = (
    # set once, by the end of call that counts it: a replay finds it set
    "ALTER TABLE calls ADD COLUMN usage_counted INTEGER NOT NULL DEFAULT 0",
    """CREATE TABLE usage_daily (
        tenant_id     TEXT NOT NULL,
        day           TEXT NOT NULL,
        outcome       TEXT NOT NULL,
        calls         INTEGER NOT NULL DEFAULT 0,
        connected_s   INTEGER NOT NULL DEFAULT 0,
        billed_s      INTEGER NOT NULL DEFAULT 0,
        bookings      INTEGER NOT NULL DEFAULT 0,
        moves         INTEGER NOT NULL DEFAULT 0,
        cancellations INTEGER NOT NULL DEFAULT 0,
        messages      INTEGER NOT NULL DEFAULT 0,
        leads         INTEGER NOT NULL DEFAULT 0,
        transfers     INTEGER NOT NULL DEFAULT 0,
        fallbacks     INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (tenant_id, day, outcome)
    )""",
    """CREATE TABLE usage_alerts (
        tenant_id TEXT NOT NULL,
        month     TEXT NOT NULL,
        kind      TEXT NOT NULL,
        sent_at   TEXT NOT NULL,
        PRIMARY KEY (tenant_id, month, kind)
    )""",
    """CREATE TABLE turn_latency (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant_id      TEXT NOT NULL,
        call_id        TEXT NOT NULL,
        at             TEXT NOT NULL,
        endpoint_ms    REAL NOT NULL,
        recognition_ms REAL NOT NULL,
        dialogue_ms    REAL NOT NULL,
        synthesis_ms   REAL NOT NULL,
        voice_ms       REAL
    )""",
    "CREATE INDEX turn_latency_at ON turn_latency (at)",
    """CREATE TABLE access_log (
        id        INTEGER PRIMARY KEY AUTOINCREMENT,
        at        TEXT NOT NULL,
        actor     TEXT NOT NULL,
        action    TEXT NOT NULL,
        tenant_id TEXT NOT NULL DEFAULT '',
        subject   TEXT NOT NULL DEFAULT '',
        source    TEXT NOT NULL DEFAULT '',
        channel   TEXT NOT NULL DEFAULT 'console'
    )""",
    "CREATE INDEX access_log_at ON access_log (at)",
    """CREATE TABLE console_users (
        name          TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        role          TEXT NOT NULL CHECK (role IN ('admin', 'staff', 'billing')),
        tenants       TEXT NOT NULL DEFAULT '',
        language      TEXT NOT NULL DEFAULT 'fr',
        created_at    TEXT NOT NULL
    )""",
    """CREATE TABLE handled (
        kind      TEXT NOT NULL CHECK (kind IN ('message', 'lead')),
        item_id   INTEGER NOT NULL,
        tenant_id TEXT NOT NULL,
        by_user   TEXT NOT NULL,
        at        TEXT NOT NULL,
        PRIMARY KEY (kind, item_id)
    )""",
)

_NAMES = {name: name for name in LEDGER_TABLES}


def _sql(text: str) -> str:
    return text.format(**_NAMES)


def _args(args: Sequence[Any]) -> list[Any]:
    return [to_db_time(a) if isinstance(a, datetime) else a for a in args]


def execute_on(conn: sqlite3.Connection) -> Any:
    """The shared SQL's ``execute`` on one connection (inside the caller's transaction)."""
    def execute(text: str, args: Sequence[Any]) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = conn.execute(_sql(text), _args(args)).fetchall()
        return rows
    return execute


class SqliteLedger(Ledger):
    """The ledger's runner for :class:`agi.booking.sqlite.SqliteStore`."""

    if TYPE_CHECKING:  # SqliteStore's
        def _write(self, action: str) -> AbstractContextManager[sqlite3.Connection]: ...

    def _ledger_run(self, action: str,
                    statements: Sequence[Statement]) -> list[list[tuple[Any, ...]]]:
        with self._write(action) as conn:
            run = execute_on(conn)
            return [run(text, args) for text, args in statements]

    def _count_usage(self, conn: sqlite3.Connection, call_id: str) -> UsageDay | None:
        """Called by end_call inside its transaction."""
        return count_call(execute_on(conn), call_id, self.usage_policy)


