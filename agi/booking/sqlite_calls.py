"""Calls, their turns and their callers on the SQLite store.

A call's record is written when it starts and closed by :meth:`SqliteCalls.end_call`,
which counts its usage in the same transaction; turns are numbered from 1 in the order
they are written; a caller's row counts the calls from one E.164 number.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from agi.booking.sqlite_connection import SqliteConnections
from agi.booking.sqlite_rows import (
    _CALL_COLUMNS,
    _CALLER_COLUMNS,
    _call,
    _caller,
    from_db_time,
    to_db_time,
)
from agi.booking.sqlite_usage import SqliteLedger
from agi.booking.store import Caller, CallRecord, Speaker, Turn, dump_call_data, is_e164
from agi.errors import StoreError


class SqliteCalls(SqliteConnections, SqliteLedger):
    """The calls, turns and callers part of :class:`agi.booking.sqlite.SqliteStore`."""

    owner: str  # the controller recorded on each call it starts (set by the store)

    # calls ----------------------------------------------------------------------
    def start_call(self, call: CallRecord) -> None:
        ended = to_db_time(call.ended_at) if call.ended_at else None
        row = (call.call_id, call.tenant_id, call.caller, to_db_time(call.started_at), ended,
               call.outcome, dump_call_data(call.data), call.language, call.channel, self.owner)
        with self._write(f"start_call {call.call_id}") as conn:
            conn.execute("INSERT INTO calls (call_id, tenant_id, caller, started_at, ended_at, "
                         "outcome, data, language, channel, owner) "
                         "VALUES (?,?,?,?,?,?,?,?,?,?)", row)
            if is_e164(call.caller):
                self._upsert_caller(conn, call.tenant_id, call.caller, row[3], None, True)

    def set_caller(self, call_id: str, caller: str) -> None:
        with self._write(f"set_caller {call_id}") as conn:
            before = conn.execute("SELECT tenant_id, caller, started_at FROM calls "
                                  "WHERE call_id = ?", (call_id,)).fetchone()
            if before is None:
                raise StoreError(f"no call {call_id!r}: start_call() first")
            conn.execute("UPDATE calls SET caller = ? WHERE call_id = ?", (caller, call_id))
            if is_e164(caller) and caller != before[1]:  # one call counts once per number
                self._upsert_caller(conn, before[0], caller, before[2], None, True)

    # callers --------------------------------------------------------------------
    @staticmethod
    def _upsert_caller(conn: sqlite3.Connection, tenant_id: str, phone: str, at: str,
                       name: str | None, new_call: bool) -> Caller:
        row = conn.execute(
            f"INSERT INTO callers ({_CALLER_COLUMNS}) VALUES (?, ?, COALESCE(?, ''), ?, ?, ?) "
            "ON CONFLICT (tenant_id, phone) DO UPDATE SET "
            "name = CASE WHEN ? IS NULL THEN name ELSE excluded.name END, "
            "first_seen = MIN(first_seen, excluded.first_seen), "
            "last_seen = MAX(last_seen, excluded.last_seen), calls = calls + excluded.calls "
            f"RETURNING {_CALLER_COLUMNS}",
            (tenant_id, phone, name, at, at, int(new_call), name)).fetchone()
        return _caller(row)

    def touch_caller(self, tenant_id: str, phone: str, at: datetime, *, name: str | None = None,
                     new_call: bool = False) -> Caller:
        if not is_e164(phone):
            raise ValueError(f"caller number {phone!r} is not in E.164 form")
        when = to_db_time(at)
        with self._write(f"touch_caller {tenant_id}") as conn:
            return self._upsert_caller(conn, tenant_id, phone, when, name, new_call)

    def caller(self, tenant_id: str, phone: str) -> Caller | None:
        rows = self._read("caller", f"SELECT {_CALLER_COLUMNS} FROM callers WHERE tenant_id = ? "
                          "AND phone = ?", (tenant_id, phone))
        return _caller(rows[0]) if rows else None

    def add_turn(self, call_id: str, speaker: Speaker, text: str, at: datetime) -> Turn:
        when = to_db_time(at)
        if speaker not in ("caller", "agent"):
            raise ValueError(f"speaker must be 'caller' or 'agent', not {speaker!r}")
        with self._write(f"add_turn {call_id}") as conn:
            self._require_call(conn, call_id)
            seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM turns WHERE call_id = ?",
                               (call_id,)).fetchone()[0]
            conn.execute("INSERT INTO turns (call_id, seq, speaker, text, at) VALUES (?,?,?,?,?)",
                         (call_id, seq, speaker, text, when))
        return Turn(call_id, seq, speaker, text, from_db_time(when))

    def update_call_data(self, call_id: str, data: Mapping[str, Any]) -> None:
        encoded = dump_call_data(data)
        with self._write(f"update_call_data {call_id}") as conn:
            self._require_call(conn, call_id)
            conn.execute("UPDATE calls SET data = ? WHERE call_id = ?", (encoded, call_id))

    def end_call(self, call_id: str, ended_at: datetime, outcome: str,
                 data: Mapping[str, Any] | None = None) -> None:
        when = to_db_time(ended_at)
        encoded = None if data is None else dump_call_data(data)
        with self._write(f"end_call {call_id}") as conn:
            self._require_call(conn, call_id)
            conn.execute("UPDATE calls SET ended_at = ?, outcome = ?, data = COALESCE(?, data) "
                         "WHERE call_id = ?", (when, outcome, encoded, call_id))
            self._count_usage(conn, call_id)

    @staticmethod
    def _require_call(conn: sqlite3.Connection, call_id: str) -> None:
        if conn.execute("SELECT 1 FROM calls WHERE call_id = ?", (call_id,)).fetchone() is None:
            raise StoreError(f"no call {call_id!r}: start_call() first")

    def get_call(self, call_id: str) -> CallRecord | None:
        rows = self._read("get_call", f"SELECT {_CALL_COLUMNS} FROM calls WHERE call_id = ?", (call_id,))
        return _call(rows[0]) if rows else None

    def list_calls(self, tenant_id: str | None = None, limit: int = 100) -> Sequence[CallRecord]:
        """The most recent calls first."""
        if tenant_id is None:
            rows = self._read("list_calls", f"SELECT {_CALL_COLUMNS} FROM calls ORDER BY started_at DESC, "
                              "call_id LIMIT ?", (limit,))
        else:
            rows = self._read("list_calls", f"SELECT {_CALL_COLUMNS} FROM calls WHERE tenant_id = ? "
                              "ORDER BY started_at DESC, call_id LIMIT ?", (tenant_id, limit))
        return [_call(r) for r in rows]

    def open_call_ids(self, owner: str | None = None, limit: int = 10_000) -> Sequence[str]:
        """Calls without an end, oldest first: ``owner``'s, or every owner's with ``None``."""
        rows = self._read("open_call_ids", "SELECT call_id FROM calls WHERE ended_at IS NULL "
                          "AND (? IS NULL OR owner = ?) ORDER BY started_at, call_id LIMIT ?",
                          (owner, owner, limit))
        return [r[0] for r in rows]

    def transcript(self, call_id: str) -> Sequence[Turn]:
        rows = self._read("transcript", "SELECT call_id, seq, speaker, text, at FROM turns "
                          "WHERE call_id = ? ORDER BY seq", (call_id,))
        return [Turn(r[0], r[1], r[2], r[3], from_db_time(r[4])) for r in rows]
