"""Appointments on the PostgreSQL store: book, move, cancel, and the searches over them.

**No overlapping appointments** is a property of the table, not of this code: the
exclusion constraint ``appointments_no_overlap`` (``migrations/0003_booking_domain.sql``)
makes a second live appointment whose blocked range [starts_at, blocked_until) meets
another's on the same tenant's resource fail with SQLSTATE 23P01, whatever the number of
writers or hosts. :meth:`book` and :meth:`move` turn that into :class:`SlotTaken`
carrying the appointment in the way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import psycopg

from agi.booking.outbox import appointment_payload, moved_payload, outbox_rows
from agi.booking.postgres_outbox import PostgresOutbox
from agi.booking.postgres_rows import _appointment, _span, _taken, aware_utc
from agi.booking.store import Appointment, NewAppointment
from agi.errors import StoreError

# A booking whose conflict was cancelled before we could read it is retried this often.
BOOK_ATTEMPTS = 3


class PostgresAppointments(PostgresOutbox):
    """The appointments part of :class:`agi.booking.postgres.PostgresStore`."""

    # appointments -----------------------------------------------------------------------
    def book(self, appt: NewAppointment) -> Appointment:
        start, end, blocked = _span(appt.starts_at, appt.ends_at, appt.buffer_min)
        args = (appt.tenant_id, appt.resource, appt.service, start, end, appt.customer_name,
                appt.customer_phone, appt.call_id or None, blocked)
        for _ in range(BOOK_ATTEMPTS):
            with self._tx(f"book {appt.tenant_id}/{appt.resource}") as conn:
                if appt.call_id and conn.execute(self._q.call_exists, (appt.call_id,)).fetchone() is None:
                    raise self._no_call(appt.call_id)
                try:
                    with conn.transaction():  # a savepoint: the conflict is read after it
                        row = conn.execute(self._q.insert_appointment, args).fetchone()
                except psycopg.errors.ExclusionViolation as exc:
                    # READ COMMITTED: this new statement sees the winner, committed by now
                    # (the INSERT waited for it before failing).
                    clash = conn.execute(self._q.first_overlap, (
                        appt.tenant_id, appt.resource, start, blocked, None)).fetchone()
                    if clash is None:
                        continue  # cancelled in between: the slot is free again, retry
                    raise _taken(appt.resource, _appointment(clash)) from exc
                assert row is not None  # INSERT ... RETURNING always returns the row
                booked = _appointment(row)
                self._queue(conn, outbox_rows(self._targets_for, booked.tenant_id,
                                              "appointment_booked", booked.id,
                                              appointment_payload(booked)))
            return booked
        raise StoreError(f"book {appt.tenant_id}/{appt.resource}: the slot kept changing under "
                         f"{BOOK_ATTEMPTS} attempts; try again")

    def move(self, appointment_id: int, new_start: datetime, new_end: datetime, *,
             resource: str | None = None, buffer_min: int | None = None,
             call_id: str = "") -> Appointment:
        for _ in range(BOOK_ATTEMPTS):
            with self._tx(f"move {appointment_id}") as conn:
                # the row lock serialises two moves (or a move and a cancel) of one appointment
                row = conn.execute(self._q.appointment_for_update, (appointment_id,)).fetchone()
                if row is None:
                    raise StoreError(f"no appointment {appointment_id}")
                before = _appointment(row)
                if before.status == "cancelled":
                    raise StoreError(f"appointment {appointment_id} is cancelled: it cannot be moved")
                if call_id and conn.execute(self._q.call_exists, (call_id,)).fetchone() is None:
                    raise self._no_call(call_id)
                start, end, blocked = _span(new_start, new_end, before.buffer_min
                                            if buffer_min is None else buffer_min)
                where = resource or before.resource
                try:
                    with conn.transaction():
                        moved_row = conn.execute(self._q.move, (
                            where, start, end, blocked, call_id or None, before.id)).fetchone()
                except psycopg.errors.ExclusionViolation as exc:
                    clash = conn.execute(self._q.first_overlap, (
                        before.tenant_id, where, start, blocked, before.id)).fetchone()
                    if clash is None:
                        continue  # the one in the way was cancelled or moved meanwhile
                    raise _taken(where, _appointment(clash)) from exc
                assert moved_row is not None  # the row is locked: it is still there
                moved = _appointment(moved_row)
                self._queue(conn, outbox_rows(self._targets_for, moved.tenant_id,
                                              "appointment_moved", f"{moved.id}.{moved.revision}",
                                              moved_payload(before, moved)))
            return moved
        raise StoreError(f"move {appointment_id}: the slot kept changing under {BOOK_ATTEMPTS} "
                         "attempts; try again")

    def appointments(self, tenant_id: str, start: datetime, end: datetime,
                     resource: str | None = None) -> Sequence[Appointment]:
        """Non-cancelled appointments overlapping [start, end), in start order."""
        rows = self._rows("appointments", self._q.window, (
            tenant_id, aware_utc(start), aware_utc(end), resource, resource))
        return [_appointment(r) for r in rows]

    def appointments_for_caller(self, tenant_id: str, phone: str) -> Sequence[Appointment]:
        rows = self._rows("appointments_for_caller", self._q.for_caller, (tenant_id, phone))
        return [_appointment(r) for r in rows]

    def cancel(self, appointment_id: int) -> Appointment:
        """Mark the appointment cancelled (idempotent); :class:`StoreError` if unknown.

        The business is notified once: the row lock taken first makes a second, concurrent
        cancel see the first one's result, and only the call that changes the status
        queues outbox rows.
        """
        with self._tx(f"cancel {appointment_id}") as conn:
            before = conn.execute(self._q.status_for_update, (appointment_id,)).fetchone()
            if before is None:
                raise StoreError(f"no appointment {appointment_id}")
            row = conn.execute(self._q.cancel, (appointment_id,)).fetchone()
            assert row is not None  # the row is locked: it is still there
            cancelled = _appointment(row)
            if before[0] != "cancelled":
                self._queue(conn, outbox_rows(self._targets_for, cancelled.tenant_id,
                                              "appointment_cancelled", cancelled.id,
                                              appointment_payload(cancelled)))
        return cancelled
