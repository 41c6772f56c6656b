"""The register of privacy requests, restriction and objection flags, rectification,
erasure notices and recordings on the SQLite store (:class:`PrivacyRegister`, built by
:meth:`agi.booking.sqlite.SqliteStore.privacy`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from agi.booking.outbox import outbox_rows
from agi.booking.privacy_register import (
    Flag,
    PersonFlags,
    PrivacyRegister,
    PrivacyRequest,
    RecordingRow,
    RectifyReport,
    RequestKind,
)
from agi.booking.sqlite_privacy import _run
from agi.booking.sqlite_rows import (
    _CALLER_COLUMNS,
    from_db_time,
    to_db_time,
)
from agi.booking.store import OutboxKind
from agi.errors import StoreError

Statement = tuple[str, Sequence[Any]]

_OLD_CALLS = "SELECT call_id FROM calls WHERE started_at < ?"


# the data subject's rights (agi.booking.privacy_register) ---------------------------------
_REQUEST_COLUMNS = ("id, tenant_id, phone, kind, received_at, identity_check, due_at, "
                    "extended_to, extension_reason, answered_at, answered_by, details")
_RECTIFY = (("calls", "caller", None), ("appointments", "customer_phone", "customer_name"),
            ("messages", "caller", "name"), ("leads", "caller", None))


def _request(row: Sequence[Any]) -> PrivacyRequest:
    (id_, tenant_id, phone, kind, received, check, due, extended, reason, answered, by,
     details) = row
    return PrivacyRequest(id_, tenant_id, phone, kind, from_db_time(received), check,
                          from_db_time(due), from_db_time(extended) if extended else None,
                          reason, from_db_time(answered) if answered else None, by,
                          json.loads(details))


def _opt_time(text: str | None) -> datetime | None:
    return from_db_time(text) if text else None


class SqlitePrivacy(PrivacyRegister):
    """:class:`PrivacyRegister` through the SQLite store's own transactions: ``write``
    (one ``BEGIN IMMEDIATE`` transaction), ``read`` (rows of one query) and ``use`` (this
    thread's connection, for the statements that manage their own transactions)."""

    def __init__(self, write: Callable[[str], AbstractContextManager[sqlite3.Connection]],
                 read: Callable[[str, str, Sequence[Any]], list[Any]],
                 use: Callable[[], AbstractContextManager[sqlite3.Connection]],
                 errors: Callable[[str], AbstractContextManager[None]]) -> None:
        self._write = write
        self._read = read
        self._use = use
        self._errors = errors

    # requests ----------------------------------------------------------------------------
    def add_request(self, tenant_id: str, phone: str, kind: RequestKind, received_at: datetime,
                    due_at: datetime, identity_check: str) -> PrivacyRequest:
        with self._write("add_request") as conn:
            row = conn.execute(
                "INSERT INTO privacy_requests (tenant_id, phone, kind, received_at, "
                "identity_check, due_at) VALUES (?,?,?,?,?,?) "
                f"RETURNING {_REQUEST_COLUMNS}",
                (tenant_id, phone, kind, to_db_time(received_at), identity_check,
                 to_db_time(due_at))).fetchone()
        return _request(row)

    def request(self, request_id: int) -> PrivacyRequest | None:
        rows = self._read("request", f"SELECT {_REQUEST_COLUMNS} FROM privacy_requests "
                          "WHERE id = ?", (request_id,))
        return _request(rows[0]) if rows else None

    def requests(self, tenant_id: str | None = None, *,
                 open_only: bool = False) -> Sequence[PrivacyRequest]:
        rows = self._read("requests", f"SELECT {_REQUEST_COLUMNS} FROM privacy_requests WHERE "
                          "(? IS NULL OR tenant_id = ?) AND (NOT ? OR answered_at IS NULL) "
                          "ORDER BY COALESCE(extended_to, due_at), id",
                          (tenant_id, tenant_id, open_only))
        return [_request(r) for r in rows]

    def _update(self, request_id: int, action: str, assignments: str,
                args: Sequence[Any]) -> PrivacyRequest:
        with self._write(f"{action} {request_id}") as conn:
            row = conn.execute(f"UPDATE privacy_requests SET {assignments} WHERE id = ? "
                               f"RETURNING {_REQUEST_COLUMNS}", (*args, request_id)).fetchone()
        if row is None:
            raise StoreError(f"no privacy request {request_id}")
        return _request(row)

    def extend_request(self, request_id: int, until: datetime, reason: str) -> PrivacyRequest:
        return self._update(request_id, "extend_request", "extended_to = ?, extension_reason = ?",
                            (to_db_time(until), reason))

    def answer_request(self, request_id: int, at: datetime | None, by: str,
                       details: Mapping[str, Any]) -> PrivacyRequest:
        return self._update(request_id, "answer_request",
                            "answered_at = ?, answered_by = ?, details = ?",
                            (to_db_time(at) if at else None, by,
                             json.dumps(dict(details), ensure_ascii=False, sort_keys=True)))

    # flags --------------------------------------------------------------------------------
    def set_flag(self, tenant_id: str, phone: str, flag: Flag,
                 since: datetime | None) -> PersonFlags:
        column = {"restricted": "restricted_since", "objected": "objected_since"}[flag]
        when = to_db_time(since) if since else None
        with self._write(f"set_flag {tenant_id}") as conn:
            conn.execute(f"INSERT INTO privacy_flags (tenant_id, phone, {column}) VALUES (?,?,?) "
                         f"ON CONFLICT (tenant_id, phone) DO UPDATE SET {column} = excluded.{column}",
                         (tenant_id, phone, when))
            conn.execute("DELETE FROM privacy_flags WHERE tenant_id = ? AND phone = ? AND "
                         "restricted_since IS NULL AND objected_since IS NULL", (tenant_id, phone))
        return self.flags(tenant_id, phone)

    def flags(self, tenant_id: str, phone: str) -> PersonFlags:
        rows = self._read("flags", "SELECT restricted_since, objected_since FROM privacy_flags "
                          "WHERE tenant_id = ? AND phone = ?", (tenant_id, phone))
        if not rows:
            return PersonFlags(tenant_id, phone)
        return PersonFlags(tenant_id, phone, _opt_time(rows[0][0]), _opt_time(rows[0][1]))

    def flagged(self, tenant_id: str | None = None) -> Sequence[PersonFlags]:
        rows = self._read("flagged", "SELECT tenant_id, phone, restricted_since, objected_since "
                          "FROM privacy_flags WHERE ? IS NULL OR tenant_id = ? "
                          "ORDER BY tenant_id, phone", (tenant_id, tenant_id))
        return [PersonFlags(r[0], r[1], _opt_time(r[2]), _opt_time(r[3])) for r in rows]

    def drop_transcripts(self, tenant_id: str, since: datetime, before: datetime, *,
                         dry_run: bool = False) -> int:
        with self._use() as conn, self._errors(f"drop_transcripts {tenant_id}"):
            (count,) = _run(conn, [(
                "DELETE FROM turns WHERE call_id IN (SELECT call_id FROM calls WHERE "
                "tenant_id = ? AND started_at >= ? AND started_at < ?)",
                (tenant_id, to_db_time(since), to_db_time(before)))], dry_run)
        return count

    def queue_notice(self, tenant_id: str, kind: OutboxKind, targets: Sequence[str],
                     entity_id: int | str, payload: Mapping[str, Any]) -> list[str]:
        rows = outbox_rows(lambda _t, _k: targets, tenant_id, kind, entity_id, payload)
        now = to_db_time(datetime.now(UTC))  # the outbox's due times are the real clock's
        with self._write(f"queue_notice {tenant_id}") as conn:
            conn.executemany(
                "INSERT INTO outbox (tenant_id, kind, target, payload, idempotency_key, "
                "next_attempt_at, created_at) VALUES (?,?,?,?,?,?,?) "
                "ON CONFLICT (idempotency_key) DO NOTHING",
                [(r.tenant_id, r.kind, r.target, r.payload, r.idempotency_key, now, now)
                 for r in rows])
        return [r.idempotency_key for r in rows]

    # recordings -------------------------------------------------------------------------
    def add_recording(self, recording: RecordingRow) -> None:
        r = recording
        with self._write(f"add_recording {r.call_id}") as conn:
            conn.execute("INSERT INTO recordings (call_id, tenant_id, path, key_id, audio_bytes, "
                         "started_at, ended_at) VALUES (?,?,?,?,?,?,?)",
                         (r.call_id, r.tenant_id, r.path, r.key_id, r.audio_bytes,
                          to_db_time(r.started_at), to_db_time(r.ended_at)))

    def recordings(self, tenant_id: str | None = None) -> Sequence[RecordingRow]:
        rows = self._read("recordings", "SELECT call_id, tenant_id, path, key_id, audio_bytes, "
                          "started_at, ended_at FROM recordings WHERE ? IS NULL OR tenant_id = ? "
                          "ORDER BY started_at, call_id", (tenant_id, tenant_id))
        return [RecordingRow(r[0], r[1], r[2], r[3], r[4], from_db_time(r[5]), from_db_time(r[6]))
                for r in rows]

    def delete_recording(self, call_id: str) -> None:
        with self._write(f"delete_recording {call_id}") as conn:
            conn.execute("DELETE FROM recordings WHERE call_id = ?", (call_id,))

    # rectification ----------------------------------------------------------------------
    def rectify(self, tenant_id: str, phone: str, *, new_phone: str | None = None,
                new_name: str | None = None) -> RectifyReport:
        counts: dict[str, int] = {}
        with self._write(f"rectify {tenant_id}") as conn:
            for table, phone_col, name_col in _RECTIFY:
                sets, args = _assignments(phone_col, name_col, new_phone, new_name)
                counts[table] = conn.execute(
                    f"UPDATE {table} SET {sets} WHERE tenant_id = ? AND {phone_col} = ?",
                    (*args, tenant_id, phone)).rowcount if sets else 0
            counts["callers"] = _rectify_caller(conn, tenant_id, phone, new_phone, new_name)
            if new_phone:
                conn.execute("UPDATE OR REPLACE privacy_flags SET phone = ? WHERE tenant_id = ? "
                             "AND phone = ?", (new_phone, tenant_id, phone))
        return RectifyReport(**counts)


def _assignments(phone_col: str, name_col: str | None, new_phone: str | None,
                 new_name: str | None) -> tuple[str, list[str]]:
    sets, args = [], []
    if new_phone:
        sets.append(f"{phone_col} = ?")
        args.append(new_phone)
    if new_name is not None and name_col:
        sets.append(f"{name_col} = ?")
        args.append(new_name)
    return ", ".join(sets), args


def _rectify_caller(conn: sqlite3.Connection, tenant_id: str, phone: str,
                    new_phone: str | None, new_name: str | None) -> int:
    """The caller row follows the person: renamed, or moved to the right number (merged
    into that number's row when it exists)."""
    n = 0
    if new_name is not None:
        n = conn.execute("UPDATE callers SET name = ? WHERE tenant_id = ? AND phone = ?",
                         (new_name, tenant_id, phone)).rowcount
    if new_phone:
        old = conn.execute(f"SELECT {_CALLER_COLUMNS} FROM callers WHERE tenant_id = ? AND "
                           "phone = ?", (tenant_id, phone)).fetchone()
        if old is not None:
            conn.execute("DELETE FROM callers WHERE tenant_id = ? AND phone = ?", (tenant_id, phone))
            conn.execute(
                f"INSERT INTO callers ({_CALLER_COLUMNS}) VALUES (?,?,?,?,?,?) "
                "ON CONFLICT (tenant_id, phone) DO UPDATE SET name = excluded.name, "
                "first_seen = MIN(first_seen, excluded.first_seen), "
                "last_seen = MAX(last_seen, excluded.last_seen), calls = calls + excluded.calls",
                (tenant_id, new_phone, *old[2:]))
            n = max(n, 1)
    return n
