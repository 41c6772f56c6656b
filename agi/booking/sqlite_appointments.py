"""Appointments on the SQLite store: book, move, cancel, and the searches over them.

The overlap check runs inside the write transaction (``BEGIN IMMEDIATE`` holds SQLite's
write lock from its first statement), so nobody can book between the check and the insert,
even from another process on the same file. An appointment blocks its resource from its
start to ``blocked_until`` (its end plus the service's buffer).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from agi.booking.outbox import appointment_payload, moved_payload, outbox_rows
from agi.booking.sqlite_calls import SqliteCalls
from agi.booking.sqlite_outbox import SqliteOutbox
from agi.booking.sqlite_rows import _APPT_COLUMNS, _appointment, _span, to_db_time
from agi.booking.store import Appointment, NewAppointment
from agi.errors import SlotTaken, StoreError


class SqliteAppointments(SqliteOutbox, SqliteCalls):
    """The appointments part of :class:`agi.booking.sqlite.SqliteStore`."""

    # appointments -------------------------------------------------------------------
    def book(self, appt: NewAppointment) -> Appointment:
        start, end, blocked = _span(appt.starts_at, appt.ends_at, appt.buffer_min)
        with self._write(f"book {appt.tenant_id}/{appt.resource}") as conn:
            if appt.call_id:
                self._require_call(conn, appt.call_id)
            self._refuse_overlap(conn, appt.tenant_id, appt.resource, start, blocked, None)
            now = to_db_time(datetime.now(UTC))
            row = conn.execute(
                "INSERT INTO appointments (tenant_id, resource, service, starts_at, ends_at, "
                "customer_name, customer_phone, status, call_id, created_at, blocked_until) "
                f"VALUES (?,?,?,?,?,?,?,'booked',?,?,?) RETURNING {_APPT_COLUMNS}",
                (appt.tenant_id, appt.resource, appt.service, start, end, appt.customer_name,
                 appt.customer_phone, appt.call_id or None, now, blocked)).fetchone()
            booked = _appointment(row)
            self._queue(conn, now, outbox_rows(self._targets_for, appt.tenant_id,
                                               "appointment_booked", booked.id,
                                               appointment_payload(booked)))
        return booked

    @staticmethod
    def _refuse_overlap(conn: sqlite3.Connection, tenant_id: str, resource: str, start: str,
                        blocked: str, ignore: int | None) -> None:
        """:class:`SlotTaken` if [start, blocked) meets another live appointment's blocked time.

        Run inside the write transaction: nobody can insert between this check and ours."""
        clash = conn.execute(
            f"SELECT {_APPT_COLUMNS} FROM appointments WHERE tenant_id = ? AND resource = ? "
            "AND status != 'cancelled' AND starts_at < ? AND blocked_until > ? AND id IS NOT ? "
            "ORDER BY starts_at LIMIT 1", (tenant_id, resource, blocked, start, ignore)).fetchone()
        if clash is not None:
            taken = _appointment(clash)
            raise SlotTaken(f"{resource} is taken from {taken.starts_at.isoformat()} to "
                            f"{taken.blocked_until.isoformat()} (appointment {taken.id})",
                            conflict=taken)

    def move(self, appointment_id: int, new_start: datetime, new_end: datetime, *,
             resource: str | None = None, buffer_min: int | None = None,
             call_id: str = "") -> Appointment:
        with self._write(f"move {appointment_id}") as conn:
            row = conn.execute(f"SELECT {_APPT_COLUMNS} FROM appointments WHERE id = ?",
                               (appointment_id,)).fetchone()
            if row is None:
                raise StoreError(f"no appointment {appointment_id}")
            before = _appointment(row)
            if before.status == "cancelled":
                raise StoreError(f"appointment {appointment_id} is cancelled: it cannot be moved")
            if call_id:
                self._require_call(conn, call_id)
            start, end, blocked = _span(new_start, new_end, before.buffer_min
                                        if buffer_min is None else buffer_min)
            where = resource or before.resource
            self._refuse_overlap(conn, before.tenant_id, where, start, blocked, before.id)
            row = conn.execute(
                "UPDATE appointments SET resource = ?, starts_at = ?, ends_at = ?, "
                "blocked_until = ?, status = 'moved', revision = revision + 1, "
                f"moved_by_call = ? WHERE id = ? RETURNING {_APPT_COLUMNS}",
                (where, start, end, blocked, call_id or None, before.id)).fetchone()
            moved = _appointment(row)
            self._queue(conn, to_db_time(datetime.now(UTC)), outbox_rows(
                self._targets_for, moved.tenant_id, "appointment_moved",
                f"{moved.id}.{moved.revision}", moved_payload(before, moved)))
        return moved

    def appointments(self, tenant_id: str, start: datetime, end: datetime,
                     resource: str | None = None) -> Sequence[Appointment]:
        """Non-cancelled appointments overlapping [start, end), in start order."""
        sql = (f"SELECT {_APPT_COLUMNS} FROM appointments WHERE tenant_id = ? "
               "AND status != 'cancelled' AND starts_at < ? AND blocked_until > ?")
        args: list[Any] = [tenant_id, to_db_time(end), to_db_time(start)]
        if resource is not None:
            sql += " AND resource = ?"
            args.append(resource)
        rows = self._read("appointments", sql + " ORDER BY starts_at, id", args)
        return [_appointment(r) for r in rows]

    def appointments_for_caller(self, tenant_id: str, phone: str) -> Sequence[Appointment]:
        rows = self._read("appointments_for_caller",
                          f"SELECT {_APPT_COLUMNS} FROM appointments WHERE tenant_id = ? AND "
                          "customer_phone = ? AND status != 'cancelled' ORDER BY starts_at, id",
                          (tenant_id, phone))
        return [_appointment(r) for r in rows]

    def cancel(self, appointment_id: int) -> Appointment:
        """Mark the appointment cancelled (idempotent); :class:`StoreError` if unknown.

        The business is notified once: only the call that changes the status queues outbox
        rows.
        """
        with self._write(f"cancel {appointment_id}") as conn:
            before = conn.execute("SELECT status FROM appointments WHERE id = ?",
                                  (appointment_id,)).fetchone()
            if before is None:
                raise StoreError(f"no appointment {appointment_id}")
            conn.execute("UPDATE appointments SET status = 'cancelled', revision = revision + "
                         "CASE WHEN status = 'cancelled' THEN 0 ELSE 1 END WHERE id = ?",
                         (appointment_id,))
            row = conn.execute(f"SELECT {_APPT_COLUMNS} FROM appointments WHERE id = ?",
                               (appointment_id,)).fetchone()
            cancelled = _appointment(row)
            if before[0] != "cancelled":
                self._queue(conn, to_db_time(datetime.now(UTC)), outbox_rows(
                    self._targets_for, cancelled.tenant_id, "appointment_cancelled",
                    cancelled.id, appointment_payload(cancelled)))
        return cancelled
