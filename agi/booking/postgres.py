"""The PostgreSQL store: :class:`agi.booking.store.Store` on psycopg 3 with a connection pool.

Same semantics as :class:`agi.booking.sqlite.SqliteStore` (the shared test suite runs on
both); what differs is where the guarantees come from:

* **No overlapping appointments** is a property of the table, not of this code: the
  exclusion constraint ``appointments_no_overlap`` (``migrations/0003_booking_domain.sql``)
  makes a second live appointment whose blocked range [starts_at, blocked_until) meets
  another's on the same tenant's resource fail with SQLSTATE 23P01, whatever the number
  of writers or hosts. :meth:`book` and :meth:`move` turn that into :class:`SlotTaken`
  carrying the appointment in the way.
* **Turn numbers** come from ``calls.last_turn_seq``, incremented in the same statement
  that inserts the turn; the row lock serialises writers of one call.
* **Notifications** are outbox rows inserted by the transaction that books, cancels or
  takes a message (``migrations/0002_outbox.sql``); workers claim them with
  ``FOR UPDATE SKIP LOCKED`` and a lease, so several hosts can deliver side by side.
* **Threads**: a :class:`psycopg_pool.ConnectionPool`; every method borrows a connection
  for one short transaction, so call sessions on worker threads never share one.
* **Outages**: with the server down a call fails with :class:`StoreError` after at most
  ``timeout`` seconds (the caller must not wait in silence); the pool keeps reconnecting in
  the background with its own back-off (1 s, 2 s, 4 s...), so the store works again
  within seconds of the server's return, without being reopened.

Tables are always named with their schema (``psycopg.sql.Identifier(schema, table)``), so
the store works whatever the connection's ``search_path``, also behind a transaction-mode
pooler. The schema is created and upgraded by :func:`agi.booking.migrate.migrate`
(``permanence db migrate``); opening a store on a schema that is missing or behind is an
error that says so, never a silent migration of the business's database.

psycopg errors become :class:`StoreError` (``raise ... from exc``); naive datetimes are
rejected with :class:`ValueError`; everything returned is aware UTC.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from agi.booking import call_summary
from agi.booking.migrate import (
    DEFAULT_SCHEMA,
    check_schema_name,
    latest_version,
    read_applied_if_any,
)
from agi.booking.outbox import (
    NewOutboxRow,
    appointment_payload,
    lead_payload,
    load_payload,
    message_payload,
    moved_payload,
    outbox_rows,
)
from agi.booking.privacy_register import PrivacyRegister
from agi.booking.store import (
    Appointment,
    Caller,
    CallRecord,
    Lead,
    Message,
    NewAppointment,
    OutboxItem,
    OutboxStatus,
    PurgeCutoffs,
    PurgeReport,
    Speaker,
    Store,
    TargetsFor,
    Turn,
    dump_call_data,
    is_e164,
)
from agi.booking.usage import UsagePolicy
from agi.errors import SlotTaken, StoreError, StoreUnavailable

try:
    import psycopg
    from psycopg import sql
    from psycopg.types.json import Jsonb
    from psycopg_pool import ConnectionPool
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise StoreError("the PostgreSQL store needs psycopg 3 and psycopg_pool: "
                     "pip install 'psycopg[binary]' psycopg_pool") from exc
from agi.booking.postgres_usage import PostgresLedger  # noqa: E402 - needs psycopg, checked above

# How long a store call waits for a pooled connection (and at open, for the first one).
# A call in progress cannot hold the caller in silence for long: past this the caller is
# told the request is noted, so it must be short, but long enough to ride out a burst of
# simultaneous bookings queueing for the pool.
POOL_TIMEOUT_S = 5.0
# A new connection gives up after this (psycopg's connect_timeout, whole seconds).
CONNECT_TIMEOUT_S = 3
# A booking whose conflict was cancelled before we could read it is retried this often.
BOOK_ATTEMPTS = 3

_CALL_COLUMNS = ("call_id", "tenant_id", "caller", "started_at", "ended_at", "outcome", "data",
                 "language", "channel")
_APPT_COLUMNS = ("id", "tenant_id", "resource", "service", "starts_at", "ends_at",
                 "customer_name", "customer_phone", "status", "call_id", "blocked_until",
                 "revision", "moved_by_call")
_CALLER_COLUMNS = ("tenant_id", "phone", "name", "first_seen", "last_seen", "calls")
_LEAD_COLUMNS = ("id", "tenant_id", "call_id", "caller", "kind", "details", "created_at")
_MESSAGE_COLUMNS = ("id", "tenant_id", "call_id", "caller", "name", "text", "created_at")
_OUTBOX_COLUMNS = ("id", "tenant_id", "kind", "target", "payload", "idempotency_key", "status",
                   "attempts", "next_attempt_at", "last_error", "created_at", "sent_at")


def aware_utc(value: datetime) -> datetime:
    """``value`` in UTC; :class:`ValueError` if it is naive (PostgreSQL would guess a zone)."""
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()}: give a timezone-aware datetime")
    return value.astimezone(UTC)


def _jsonb(data: Mapping[str, Any]) -> Jsonb:
    text = dump_call_data(data)
    return Jsonb(text, dumps=lambda already_text: already_text)


class PostgresStore(PostgresLedger, Store):
    """The PostgreSQL store. Create one per process and share it between threads.

    ``targets_for`` maps a tenant id to its notification target keys; with it, bookings,
    cancellations and messages queue outbox rows in their own transaction.
    """

    def __init__(self, dsn: str, schema: str = DEFAULT_SCHEMA, min_size: int = 1,
                 max_size: int = 10, *, timeout: float = POOL_TIMEOUT_S,
                 targets_for: TargetsFor | None = None, usage: UsagePolicy | None = None) -> None:
        self.schema = check_schema_name(schema)
        self._targets_for = targets_for
        self.usage_policy = usage or UsagePolicy()
        self._timeout = timeout
        self._closed = False
        self._q = _Queries(schema)
        self._pool = ConnectionPool(
            dsn, min_size=min_size, max_size=max_size, open=False, timeout=timeout,
            name=f"permanence-{schema}", kwargs={"connect_timeout": CONNECT_TIMEOUT_S},
            # A connection that died with the server is replaced before it is lent out,
            # so the first call after a database restart works instead of failing.
            check=ConnectionPool.check_connection)
        try:
            self._pool.open(wait=True, timeout=timeout)
            self._check_schema()
        except psycopg.Error as exc:
            self._pool.close()
            raise StoreError(f"cannot open the PostgreSQL store (schema {schema!r}): {exc}") from exc
        except BaseException:
            self._pool.close()
            raise

    def _check_schema(self) -> None:
        with self._pool.connection() as conn:
            applied = read_applied_if_any(conn, self.schema)
        expected = latest_version()
        have = applied[-1].version if applied else 0
        if have < expected:
            raise StoreError(f"schema {self.schema!r} is at version {have}, this Permanence needs "
                             f"{expected}: run 'permanence db migrate'")
        if have > expected:
            raise StoreError(f"schema {self.schema!r} is at version {have}, newer than this "
                             f"Permanence knows ({expected}): upgrade Permanence")

    def close(self) -> None:
        """Close the pool; later calls raise :class:`StoreError`."""
        self._closed = True
        self._pool.close()

    # plumbing -----------------------------------------------------------------------
    @contextmanager
    def _tx(self, action: str) -> Iterator[psycopg.Connection[Any]]:
        """One short transaction on a pooled connection; psycopg errors -> StoreError."""
        if self._closed:
            raise StoreError(f"PostgreSQL store (schema {self.schema!r}) is closed")
        try:
            with self._pool.connection(timeout=self._timeout) as conn, conn.transaction():
                yield conn
        except (psycopg.OperationalError,  # server down, restarting, pool timeout
                psycopg.errors.ReadOnlySqlTransaction,  # a standby, or default_transaction_read_only
                psycopg.errors.InsufficientResources) as exc:  # class 53: disk full, out of memory
            raise StoreUnavailable(
                f"{action} failed: PostgreSQL unreachable (schema {self.schema!r}): {exc}") from exc
        except psycopg.Error as exc:
            raise StoreError(f"{action} failed on PostgreSQL (schema {self.schema!r}): {exc}") from exc

    def _rows(self, action: str, query: sql.Composed, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._tx(action) as conn:
            return conn.execute(query, args).fetchall()

    @staticmethod
    def _no_call(call_id: str) -> StoreError:
        return StoreError(f"no call {call_id!r}: start_call() first")

    def _touch_call(self, action: str, query: sql.Composed, args: Sequence[Any], call_id: str) -> None:
        with self._tx(action) as conn:
            if conn.execute(query, args).rowcount == 0:
                raise self._no_call(call_id)

    # calls ----------------------------------------------------------------------------
    def start_call(self, call: CallRecord) -> None:
        ended = aware_utc(call.ended_at) if call.ended_at else None
        started = aware_utc(call.started_at)
        with self._tx(f"start_call {call.call_id}") as conn:
            conn.execute(self._q.insert_call, (
                call.call_id, call.tenant_id, call.caller, started, ended,
                call.outcome, _jsonb(call.data), call.language, call.channel))
            if is_e164(call.caller):
                conn.execute(self._q.upsert_caller, (call.tenant_id, call.caller, None, started,
                                                     started, 1, None))

    def set_caller(self, call_id: str, caller: str) -> None:
        with self._tx(f"set_caller {call_id}") as conn:
            # the row lock makes a repeated set_caller see the first one's number
            before = conn.execute(self._q.call_for_update, (call_id,)).fetchone()
            if before is None:
                raise self._no_call(call_id)
            conn.execute(self._q.set_caller, (caller, call_id))
            tenant_id, previous, started = before
            if is_e164(caller) and caller != previous:  # one call counts once per number
                conn.execute(self._q.upsert_caller, (tenant_id, caller, None, started, started,
                                                     1, None))

    # callers --------------------------------------------------------------------------
    def touch_caller(self, tenant_id: str, phone: str, at: datetime, *, name: str | None = None,
                     new_call: bool = False) -> Caller:
        if not is_e164(phone):
            raise ValueError(f"caller number {phone!r} is not in E.164 form")
        when = aware_utc(at)
        with self._tx(f"touch_caller {tenant_id}") as conn:
            row = conn.execute(self._q.upsert_caller, (tenant_id, phone, name, when, when,
                                                       int(new_call), name)).fetchone()
        assert row is not None  # INSERT ... ON CONFLICT DO UPDATE ... RETURNING always returns
        return _caller(row)

    def caller(self, tenant_id: str, phone: str) -> Caller | None:
        rows = self._rows("caller", self._q.get_caller, (tenant_id, phone))
        return _caller(rows[0]) if rows else None

    def add_turn(self, call_id: str, speaker: Speaker, text: str, at: datetime) -> Turn:
        when = aware_utc(at)
        if speaker not in ("caller", "agent"):
            raise ValueError(f"speaker must be 'caller' or 'agent', not {speaker!r}")
        with self._tx(f"add_turn {call_id}") as conn:
            row = conn.execute(self._q.add_turn, (call_id, speaker, text, when)).fetchone()
            if row is None:
                raise self._no_call(call_id)
        return Turn(call_id, row[0], speaker, text, when)

    def update_call_data(self, call_id: str, data: Mapping[str, Any]) -> None:
        self._touch_call(f"update_call_data {call_id}", self._q.set_data, (_jsonb(data), call_id),
                         call_id)

    def end_call(self, call_id: str, ended_at: datetime, outcome: str,
                 data: Mapping[str, Any] | None = None,
                 summary: Mapping[str, Any] | None = None) -> None:
        args = (aware_utc(ended_at), outcome, None if data is None else _jsonb(data), call_id)
        with self._tx(f"end_call {call_id}") as conn:
            if conn.execute(self._q.end_call, args).rowcount == 0:
                raise self._no_call(call_id)
            self._count_usage(conn, call_id)
            if summary:  # queued with the end of the call, once (agi.booking.call_summary)
                row = conn.execute(self._q.call_for_update, (call_id,)).fetchone()
                assert row is not None  # the UPDATE above found it
                rows = call_summary.summary_rows(self._targets_for, call_id, row[0], row[1],
                                                 row[2].astimezone(UTC), aware_utc(ended_at),
                                                 outcome, summary)
                with conn.cursor() as cur:
                    cur.executemany(self._q.insert_summary, [
                        (*a[:3], _jsonb_text(a[3]), *a[4:])
                        for a in call_summary.insert_args(rows, datetime.now(UTC))])

    def get_call(self, call_id: str) -> CallRecord | None:
        rows = self._rows("get_call", self._q.get_call, (call_id,))
        return _call(rows[0]) if rows else None

    def list_calls(self, tenant_id: str | None = None, limit: int = 100) -> Sequence[CallRecord]:
        """The most recent calls first."""
        rows = self._rows("list_calls", self._q.list_calls, (tenant_id, tenant_id, limit))
        return [_call(r) for r in rows]

    def transcript(self, call_id: str) -> Sequence[Turn]:
        rows = self._rows("transcript", self._q.transcript, (call_id,))
        return [Turn(r[0], r[1], r[2], r[3], r[4].astimezone(UTC)) for r in rows]

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

    # personal data: the SQL lives in agi.booking.postgres_privacy --------------------
    # (imported here, not at the top: that module reads this one's row converters)
    def purge(self, before: PurgeCutoffs, *, dry_run: bool = False) -> PurgeReport:
        from agi.booking import postgres_privacy as p

        return p.purge(self._tx, p.PrivacyQueries(self.schema), before, dry_run)

    def erase_person(self, tenant_id: str, phone: str, *,
                     now: datetime | None = None) -> PurgeReport:
        from agi.booking import postgres_privacy as p

        if not is_e164(phone):
            raise ValueError(f"{phone!r} is not an E.164 number")
        return p.erase_person(self._tx, p.PrivacyQueries(self.schema), tenant_id, phone,
                              now or datetime.now(UTC))

    def personal_data(self, tenant_id: str, phone: str) -> dict[str, Any]:
        from agi.booking import postgres_privacy as p

        if not is_e164(phone):
            raise ValueError(f"{phone!r} is not an E.164 number")
        return p.personal_data(self._tx, p.PrivacyQueries(self.schema), tenant_id, phone)

    def privacy(self) -> PrivacyRegister:
        from agi.booking import postgres_register

        return postgres_register.PostgresPrivacy(self._tx, self.schema)

    def reseal(self, transform: Callable[[str, Any], Any]) -> int:
        from agi.booking import postgres_privacy as p

        return p.reseal(self._tx, self.schema, transform)


class _Queries:
    """Every statement of the store, composed once with the schema-qualified table names."""

    def __init__(self, schema: str) -> None:
        def table(name: str) -> sql.Identifier:
            return sql.Identifier(schema, name)

        def cols(names: Sequence[str]) -> sql.Composed:
            return sql.SQL(", ").join(map(sql.Identifier, names))

        def q(text: str) -> sql.Composed:
            return sql.SQL(text).format(
                calls=table("calls"), turns=table("turns"), appointments=table("appointments"),
                messages=table("messages"), outbox=table("outbox"), call_cols=cols(_CALL_COLUMNS),
                appt_cols=cols(_APPT_COLUMNS), message_cols=cols(_MESSAGE_COLUMNS),
                outbox_cols=cols(_OUTBOX_COLUMNS), callers=table("callers"),
                caller_cols=cols(_CALLER_COLUMNS), leads=table("leads"),
                lead_cols=cols(_LEAD_COLUMNS))

        live_overlap = ("tenant_id = %s AND resource = %s AND status <> 'cancelled' "
                        "AND tstzrange(starts_at, blocked_until, '[)') && tstzrange(%s, %s, '[)') "
                        "AND id IS DISTINCT FROM %s")
        self.insert_call = q("INSERT INTO {calls} ({call_cols}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)")
        self.set_caller = q("UPDATE {calls} SET caller = %s WHERE call_id = %s")
        self.set_data = q("UPDATE {calls} SET data = %s WHERE call_id = %s")
        self.end_call = q("UPDATE {calls} SET ended_at = %s, outcome = %s, "
                          "data = COALESCE(%s, data) WHERE call_id = %s")
        # One statement: take the next number under the call's row lock, insert the turn.
        self.add_turn = q("WITH c AS (UPDATE {calls} SET last_turn_seq = last_turn_seq + 1 "
                          "WHERE call_id = %s RETURNING call_id, last_turn_seq) "
                          "INSERT INTO {turns} (call_id, seq, speaker, text, at) "
                          "SELECT c.call_id, c.last_turn_seq, %s, %s, %s FROM c RETURNING seq")
        self.call_exists = q("SELECT 1 FROM {calls} WHERE call_id = %s")
        self.get_call = q("SELECT {call_cols} FROM {calls} WHERE call_id = %s")
        self.list_calls = q("SELECT {call_cols} FROM {calls} WHERE (%s::text IS NULL OR tenant_id = %s) "
                            "ORDER BY started_at DESC, call_id LIMIT %s")
        self.transcript = q("SELECT call_id, seq, speaker, text, at FROM {turns} "
                            "WHERE call_id = %s ORDER BY seq")
        self.insert_appointment = q(
            "INSERT INTO {appointments} (tenant_id, resource, service, starts_at, ends_at, "
            "customer_name, customer_phone, status, call_id, blocked_until) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, 'booked', %s, %s) RETURNING {appt_cols}")
        self.appointment_for_update = q("SELECT {appt_cols} FROM {appointments} WHERE id = %s "
                                        "FOR UPDATE")
        self.move = q("UPDATE {appointments} SET resource = %s, starts_at = %s, ends_at = %s, "
                      "blocked_until = %s, status = 'moved', revision = revision + 1, "
                      "moved_by_call = %s WHERE id = %s RETURNING {appt_cols}")
        self.call_for_update = q("SELECT tenant_id, caller, started_at FROM {calls} "
                                 "WHERE call_id = %s FOR UPDATE")
        self.upsert_caller = q(
            "INSERT INTO {callers} ({caller_cols}) VALUES (%s, %s, COALESCE(%s, ''), %s, %s, %s) "
            "ON CONFLICT (tenant_id, phone) DO UPDATE SET "
            "name = CASE WHEN %s::text IS NULL THEN {callers}.name ELSE EXCLUDED.name END, "
            "first_seen = LEAST({callers}.first_seen, EXCLUDED.first_seen), "
            "last_seen = GREATEST({callers}.last_seen, EXCLUDED.last_seen), "
            "calls = {callers}.calls + EXCLUDED.calls RETURNING {caller_cols}")
        self.get_caller = q("SELECT {caller_cols} FROM {callers} WHERE tenant_id = %s AND phone = %s")
        self.add_lead = q("INSERT INTO {leads} (tenant_id, call_id, caller, kind, details, created_at) "
                          "VALUES (%s, %s, %s, %s, %s, %s) RETURNING {lead_cols}")
        self.leads = q("SELECT {lead_cols} FROM {leads} WHERE tenant_id = %s ORDER BY created_at, id")
        self.first_overlap = q("SELECT {appt_cols} FROM {appointments} WHERE " + live_overlap
                               + " ORDER BY starts_at, id LIMIT 1")
        self.window = q("SELECT {appt_cols} FROM {appointments} WHERE tenant_id = %s "
                        "AND status <> 'cancelled' "
                        "AND tstzrange(starts_at, blocked_until, '[)') && tstzrange(%s, %s, '[)') "
                        "AND (%s::text IS NULL OR resource = %s) ORDER BY starts_at, id")
        self.for_caller = q("SELECT {appt_cols} FROM {appointments} WHERE tenant_id = %s "
                            "AND customer_phone = %s AND status <> 'cancelled' ORDER BY starts_at, id")
        self.cancel = q("UPDATE {appointments} SET status = 'cancelled', revision = revision + "
                        "CASE WHEN status = 'cancelled' THEN 0 ELSE 1 END WHERE id = %s "
                        "RETURNING {appt_cols}")
        self.add_message = q("INSERT INTO {messages} (tenant_id, call_id, caller, name, text, created_at) "
                             "VALUES (%s, %s, %s, %s, %s, %s) RETURNING {message_cols}")
        self.messages = q("SELECT {message_cols} FROM {messages} WHERE tenant_id = %s "
                          "ORDER BY created_at, id")
        self.status_for_update = q("SELECT status FROM {appointments} WHERE id = %s FOR UPDATE")
        self.insert_outbox = q("INSERT INTO {outbox} (tenant_id, kind, target, payload, "
                               "idempotency_key, next_attempt_at, created_at) "
                               "VALUES (%s, %s, %s, %s, %s, %s, %s)")
        # READ COMMITTED re-checks a row it waited for against the WHERE clause, and SKIP
        # LOCKED passes rows another claimer holds: a row is leased by one claimer only.
        # https://www.postgresql.org/docs/current/sql-select.html#SQL-FOR-UPDATE-SHARE
        self.claim_outbox = q(
            "UPDATE {outbox} SET lease_until = %s WHERE id IN (SELECT id FROM {outbox} "
            "WHERE status = 'pending' AND next_attempt_at <= %s "
            "AND (lease_until IS NULL OR lease_until <= %s) ORDER BY next_attempt_at, id "
            "LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING {outbox_cols}")
        self.outbox_sent = q("UPDATE {outbox} SET status = 'sent', sent_at = %s, lease_until = NULL "
                             "WHERE id = %s AND status = 'pending'")
        self.outbox_failed = q(
            "UPDATE {outbox} SET attempts = attempts + %s, last_error = %s, next_attempt_at = %s, "
            "status = CASE WHEN %s THEN 'dead' ELSE status END, lease_until = NULL "
            "WHERE id = %s AND status = 'pending'")
        self.outbox_exists = q("SELECT 1 FROM {outbox} WHERE id = %s")
        self.insert_summary = q(call_summary.INSERT_POSTGRES)
        self.outbox = q("SELECT {outbox_cols} FROM {outbox} WHERE (%s::text IS NULL OR tenant_id = %s) "
                        "AND (%s::text IS NULL OR status = %s) ORDER BY id")


def _call(row: Sequence[Any]) -> CallRecord:
    call_id, tenant_id, caller, started, ended, outcome, data, language, channel = row
    return CallRecord(call_id, tenant_id, caller, started.astimezone(UTC),
                      ended.astimezone(UTC) if ended else None, outcome, data, language, channel)


def _appointment(row: Sequence[Any]) -> Appointment:
    (id_, tenant_id, resource, service, starts, ends, name, phone, status, call_id, blocked,
     revision, moved_by) = row
    buffer_min = int((blocked - ends).total_seconds() // 60)
    return Appointment(id_, tenant_id, resource, service, starts.astimezone(UTC),
                       ends.astimezone(UTC), name, phone, status, call_id or "", buffer_min,
                       revision, moved_by or "")


def _taken(resource: str, taken: Appointment) -> SlotTaken:
    return SlotTaken(f"{resource} is taken from {taken.starts_at.isoformat()} to "
                     f"{taken.blocked_until.isoformat()} (appointment {taken.id})", conflict=taken)


def _span(start: datetime, end: datetime, buffer_min: int) -> tuple[datetime, datetime, datetime]:
    """Start, end and blocked_until in UTC; :class:`ValueError` if out of order."""
    if buffer_min < 0:
        raise ValueError(f"buffer must not be negative, not {buffer_min} minutes")
    first, last = aware_utc(start), aware_utc(end)
    if last <= first:
        raise ValueError(f"appointment ends ({last.isoformat()}) before it starts "
                         f"({first.isoformat()})")
    return first, last, last + timedelta(minutes=buffer_min)


def _caller(row: Sequence[Any]) -> Caller:
    tenant_id, phone, name, first, last, calls = row
    return Caller(tenant_id, phone, name, first.astimezone(UTC), last.astimezone(UTC), calls)


def _lead(row: Sequence[Any]) -> Lead:
    id_, tenant_id, call_id, caller, kind, details, created = row
    return Lead(id_, tenant_id, call_id or "", caller, kind, details, created.astimezone(UTC))


def _jsonb_text(text: str) -> Jsonb:
    return Jsonb(text, dumps=lambda already_text: already_text)


def _outbox_item(row: Sequence[Any]) -> OutboxItem:
    (id_, tenant_id, kind, target, payload, key, status, attempts, due, error, created,
     sent) = row
    return OutboxItem(id_, tenant_id, kind, target, load_payload(payload), key, status, attempts,
                      due.astimezone(UTC), error, created.astimezone(UTC),
                      sent.astimezone(UTC) if sent else None)


def _message(row: Sequence[Any]) -> Message:
    id_, tenant_id, call_id, caller, name, text, created = row
    return Message(id_, tenant_id, call_id or "", caller, name, text, created.astimezone(UTC))
