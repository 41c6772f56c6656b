"""Retention, erasure, access and re-encryption on the SQLite store (GDPR articles 5(1)(e), 15, 17).

The statements behind :meth:`SqliteStore.purge`, :meth:`SqliteStore.erase_person` and
:meth:`SqliteStore.personal_data`, kept apart from :mod:`agi.booking.sqlite` so that
module stays about calls and bookings. Each function receives the calling thread's
connection (autocommit mode) and opens its own ``BEGIN IMMEDIATE`` transactions; the
store converts :class:`sqlite3.Error` to :class:`agi.errors.StoreError`.

Times are the store's fixed-width UTC text, so ``<`` on text is ``<`` in time.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from agi.booking.outbox import load_payload
from agi.booking.privacy_export import (
    OutboxCandidate,
    outbox_to_erase,
    person_export,
    quoted,
)
from agi.booking.sqlite_rows import (
    _APPT_COLUMNS,
    _CALL_COLUMNS,
    _CALLER_COLUMNS,
    _LEAD_COLUMNS,
    _OUTBOX_COLUMNS,
    _appointment,
    _call,
    _caller,
    _lead,
    _outbox_item,
    from_db_time,
    to_db_time,
)
from agi.booking.store import Message, PurgeCutoffs, PurgeReport, Turn

Statement = tuple[str, Sequence[Any]]

_OLD_CALLS = "SELECT call_id FROM calls WHERE started_at < ?"


def _run(conn: sqlite3.Connection, statements: Sequence[Statement], dry_run: bool) -> list[int]:
    """Run the statements in one write transaction; rows changed by each. A dry run
    rolls back, so what it reports is exactly what a real run would do."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        counts = [conn.execute(text, args).rowcount for text, args in statements]
        conn.execute("ROLLBACK" if dry_run else "COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return counts


def purge(conn: sqlite3.Connection, before: PurgeCutoffs, dry_run: bool) -> PurgeReport:
    """See :meth:`agi.booking.store.Store.purge`."""
    calls, messages = to_db_time(before.calls), to_db_time(before.messages)
    appts, outbox = to_db_time(before.appointments), to_db_time(before.outbox)
    turns_n, calls_n = _run(conn, [
        (f"DELETE FROM turns WHERE call_id IN ({_OLD_CALLS})", (calls,)),
        # messages, leads and appointments keep their row: their call_id becomes NULL
        ("DELETE FROM calls WHERE started_at < ?", (calls,))], dry_run)
    (callers_n,) = _run(conn, [("DELETE FROM callers WHERE last_seen < ?", (calls,))], dry_run)
    (messages_n,) = _run(conn, [("DELETE FROM messages WHERE created_at < ?", (messages,))],
                         dry_run)
    (leads_n,) = _run(conn, [("DELETE FROM leads WHERE created_at < ?", (messages,))], dry_run)
    (appts_n,) = _run(conn, [(
        "UPDATE appointments SET customer_name = '', customer_phone = '' WHERE ends_at < ? "
        "AND (customer_name != '' OR customer_phone != '')", (appts,))], dry_run)
    (outbox_n,) = _run(conn, [(
        "DELETE FROM outbox WHERE (status = 'sent' AND sent_at < ?) "
        "OR (status = 'dead' AND created_at < ?)", (outbox, messages))], dry_run)
    return PurgeReport(calls=calls_n, turns=turns_n, callers=callers_n, messages=messages_n,
                       leads=leads_n, appointments=appts_n, outbox=outbox_n)


def erase_person(conn: sqlite3.Connection, tenant_id: str, phone: str,
                 now: datetime) -> PurgeReport:
    """See :meth:`agi.booking.store.Store.erase_person` (one transaction)."""
    at = to_db_time(now)
    conn.execute("BEGIN IMMEDIATE")
    try:
        report = _erase(conn, tenant_id, phone, at, now)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return report


def _erase(conn: sqlite3.Connection, tenant_id: str, phone: str, at: str,
           now: datetime) -> PurgeReport:
    who = (tenant_id, phone)
    theirs = "SELECT call_id FROM calls WHERE tenant_id = ? AND caller = ?"
    turns_n = conn.execute(f"DELETE FROM turns WHERE call_id IN ({theirs})", who).rowcount
    calls_n = conn.execute("DELETE FROM calls WHERE tenant_id = ? AND caller = ?", who).rowcount
    messages_n = conn.execute("DELETE FROM messages WHERE tenant_id = ? AND caller = ?",
                              who).rowcount
    leads_n = conn.execute("DELETE FROM leads WHERE tenant_id = ? AND caller = ?", who).rowcount
    callers_n = conn.execute("DELETE FROM callers WHERE tenant_id = ? AND phone = ?",
                             who).rowcount
    upcoming = tuple(_appointment(r) for r in conn.execute(
        f"SELECT {_APPT_COLUMNS} FROM appointments WHERE tenant_id = ? AND customer_phone = ? "
        "AND status != 'cancelled' AND ends_at > ? ORDER BY starts_at, id", (*who, at)))
    appts_n = conn.execute(
        "UPDATE appointments SET customer_name = '', customer_phone = '' WHERE tenant_id = ? "
        "AND customer_phone = ? AND (status = 'cancelled' OR ends_at <= ?)", (*who, at)).rowcount
    candidates = [OutboxCandidate(r[0], r[1], r[2], load_payload(r[3]),
                                  from_db_time(r[4]) if r[4] else None)
                  for r in conn.execute(
                      "SELECT id, status, kind, payload, lease_until FROM outbox "
                      "WHERE tenant_id = ? AND payload LIKE ?", (tenant_id, quoted(phone)))]
    doomed = outbox_to_erase(candidates, {a.id for a in upcoming}, now)
    conn.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in doomed])
    return PurgeReport(calls=calls_n, turns=turns_n, callers=callers_n, messages=messages_n,
                       leads=leads_n, appointments=appts_n, outbox=len(doomed),
                       upcoming=upcoming)


def personal_data(conn: sqlite3.Connection, tenant_id: str, phone: str) -> dict[str, Any]:
    """See :meth:`agi.booking.store.Store.personal_data`; read in one transaction so the
    document is consistent."""
    who = (tenant_id, phone)
    conn.execute("BEGIN")
    try:
        caller = conn.execute(f"SELECT {_CALLER_COLUMNS} FROM callers WHERE tenant_id = ? "
                              "AND phone = ?", who).fetchone()
        calls = [_call(r) for r in conn.execute(
            f"SELECT {_CALL_COLUMNS} FROM calls WHERE tenant_id = ? AND caller = ? "
            "ORDER BY started_at, call_id", who)]
        turns = [(c, [Turn(r[0], r[1], r[2], r[3], from_db_time(r[4])) for r in conn.execute(
            "SELECT call_id, seq, speaker, text, at FROM turns WHERE call_id = ? ORDER BY seq",
            (c.call_id,))]) for c in calls]
        appts = [_appointment(r) for r in conn.execute(
            f"SELECT {_APPT_COLUMNS} FROM appointments WHERE tenant_id = ? AND customer_phone = ? "
            "ORDER BY starts_at, id", who)]
        messages = [Message(r[0], r[1], r[2] or "", r[3], r[4], r[5], from_db_time(r[6]))
                    for r in conn.execute(
                        "SELECT id, tenant_id, call_id, caller, name, text, created_at FROM "
                        "messages WHERE tenant_id = ? AND caller = ? ORDER BY created_at, id", who)]
        leads = [_lead(r) for r in conn.execute(
            f"SELECT {_LEAD_COLUMNS} FROM leads WHERE tenant_id = ? AND caller = ? "
            "ORDER BY created_at, id", who)]
        outbox = [_outbox_item(r) for r in conn.execute(
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE tenant_id = ? AND payload LIKE ? "
            "ORDER BY id", (tenant_id, quoted(phone)))]
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return person_export(tenant_id, phone, _caller(caller) if caller else None, turns, appts,
                         messages, leads, outbox)


# (table, row key, column, kind): where free text is kept, for agi.privacy.sealed
SEALED_COLUMNS = (("turns", "rowid", "text", "text"), ("messages", "id", "text", "text"),
                  ("calls", "call_id", "data", "doc"), ("leads", "id", "details", "doc"),
                  ("outbox", "id", "payload", "payload"))


def reseal(conn: sqlite3.Connection, transform: Callable[[str, Any], Any]) -> int:
    """See :meth:`agi.booking.store.Store.reseal`: one write transaction per table, then
    the old content is overwritten (``secure_delete``) and the file compacted, so no clear
    text stays behind in free pages or the write-ahead log."""
    changed = 0
    conn.execute("PRAGMA secure_delete = ON")
    for table, key, column, kind in SEALED_COLUMNS:
        conn.execute("BEGIN IMMEDIATE")
        try:
            updates = []
            for row_key, stored in conn.execute(f"SELECT {key}, {column} FROM {table}").fetchall():
                value = stored if kind == "text" else json.loads(stored)
                new = transform(kind, value)
                if new != value:
                    updates.append((new if kind == "text" else
                                    json.dumps(new, ensure_ascii=False, sort_keys=True), row_key))
            conn.executemany(f"UPDATE {table} SET {column} = ? WHERE {key} = ?", updates)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        changed += len(updates)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("VACUUM")
    return changed
