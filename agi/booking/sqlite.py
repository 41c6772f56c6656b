"""The embedded store: :class:`agi.booking.store.Store` on a SQLite file (stdlib ``sqlite3``).

Threading: one connection per thread. Call sessions reach the store from worker threads
at the same time; with a connection each, WAL lets readers (a transcript dump, an
availability search) run while another thread writes, and every write takes SQLite's own
write lock with ``BEGIN IMMEDIATE``. That lock, not a Python lock, is what makes the
appointment overlap check atomic, so it also holds against a second process on the same
file (``permanence db`` while ``permanence serve`` runs). A single shared connection behind
a Python lock would serialise reads too and protect nothing across processes.

Datetimes are stored as fixed-width UTC ISO-8601 text (``2026-03-12T14:30:00.000000+00:00``)
so that text order is time order and overlap checks can compare strings in SQL; they come
back as aware UTC datetimes. Naive datetimes are rejected with :class:`ValueError`.

Schema versions live in ``PRAGMA user_version``; :data:`MIGRATIONS` lists the statements
that take a database from one version to the next, applied in order at open.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from agi.booking import call_summary
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
from agi.booking.sqlite_usage import MIGRATION as LEDGER_MIGRATION
from agi.booking.sqlite_usage import SqliteLedger
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

log = logging.getLogger(__name__)

# SQLite primary result codes (sqlite.org/rescode.html) that say the file cannot take a
# write now, whatever was asked: BUSY 5 and LOCKED 6 (past the busy timeout), NOMEM 7,
# READONLY 8, IOERR 10, FULL 13 (disk full), CANTOPEN 14, PROTOCOL 15. The call's writes
# then go to the spool like an outage and are replayed when the file accepts them again.
_REFUSING = frozenset({5, 6, 7, 8, 10, 13, 14, 15})

# How long a writer waits for another connection's write lock before giving up. Writes are
# single-row and take microseconds, so even 50 racing bookings finish far inside this; a
# wait this long means something holds the file (a stuck process) and should surface.
BUSY_TIMEOUT_MS = 10_000
# close() waits this long for operations other threads are running (a call's last write).
CLOSE_WAIT_S = 10.0

# Version n+1 is reached by running MIGRATIONS[n]. Append, never edit a released entry.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE calls (
            call_id    TEXT PRIMARY KEY,
            tenant_id  TEXT NOT NULL,
            caller     TEXT NOT NULL DEFAULT '',
            started_at TEXT NOT NULL,
            ended_at   TEXT,
            outcome    TEXT NOT NULL DEFAULT '',
            data       TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(data)),
            language   TEXT NOT NULL DEFAULT 'fr',
            channel    TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX calls_tenant_started ON calls (tenant_id, started_at)",
        """CREATE TABLE turns (
            call_id TEXT NOT NULL REFERENCES calls (call_id) ON DELETE CASCADE,
            seq     INTEGER NOT NULL CHECK (seq > 0),
            speaker TEXT NOT NULL CHECK (speaker IN ('caller', 'agent')),
            text    TEXT NOT NULL,
            at      TEXT NOT NULL,
            PRIMARY KEY (call_id, seq)
        )""",
        # call_id is NULL for appointments made outside a call; erasing a call keeps the
        # appointment the business still has to honour.
        """CREATE TABLE appointments (
            id             INTEGER PRIMARY KEY AUTOINCREMENT,
            tenant_id      TEXT NOT NULL,
            resource       TEXT NOT NULL,
            service        TEXT NOT NULL,
            starts_at      TEXT NOT NULL,
            ends_at        TEXT NOT NULL,
            customer_name  TEXT NOT NULL,
            customer_phone TEXT NOT NULL,
            status         TEXT NOT NULL DEFAULT 'booked'
                           CHECK (status IN ('booked', 'moved', 'cancelled')),
            call_id        TEXT REFERENCES calls (call_id) ON DELETE SET NULL,
            created_at     TEXT NOT NULL,
            CHECK (ends_at > starts_at)
        )""",
        "CREATE INDEX appointments_slot ON appointments (tenant_id, resource, starts_at)",
        "CREATE INDEX appointments_phone ON appointments (tenant_id, customer_phone)",
        """CREATE TABLE messages (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,
            tenant_id  TEXT NOT NULL,
            call_id    TEXT REFERENCES calls (call_id) ON DELETE SET NULL,
            caller     TEXT NOT NULL DEFAULT '',
            name       TEXT NOT NULL DEFAULT '',
            text       TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX messages_tenant ON messages (tenant_id, created_at)",
    ),
    (  # 2: the outbox of notifications to the business (agi.booking.outbox)
        """CREATE TABLE outbox (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,
            tenant_id       TEXT NOT NULL,
            kind            TEXT NOT NULL CHECK (kind IN ('appointment_booked',
                                'appointment_cancelled', 'message')),
            target          TEXT NOT NULL,
            payload         TEXT NOT NULL CHECK (json_valid(payload)),
            idempotency_key TEXT NOT NULL UNIQUE,
            status          TEXT NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'sent', 'dead')),
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            lease_until     TEXT,
            last_error      TEXT NOT NULL DEFAULT '',
            created_at      TEXT NOT NULL,
            sent_at         TEXT
        )""",
        "CREATE INDEX outbox_due ON outbox (status, next_attempt_at, id)",
        "CREATE INDEX outbox_tenant ON outbox (tenant_id, created_at)",
    ),
    (  # 3: buffers, moves, callers, leads (PostgreSQL: migrations/0003_booking_domain.sql)
        # blocked_until = ends_at + the service's buffer: what the overlap check compares
        "ALTER TABLE appointments ADD COLUMN blocked_until TEXT NOT NULL DEFAULT ''",
        "UPDATE appointments SET blocked_until = ends_at",
        "ALTER TABLE appointments ADD COLUMN revision INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE appointments ADD COLUMN moved_by_call TEXT "
        "REFERENCES calls (call_id) ON DELETE SET NULL",
        # SQLite cannot change a CHECK constraint: the outbox is rebuilt with the new kinds
        """CREATE TABLE outbox_v3 (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,
            tenant_id       TEXT NOT NULL,
            kind            TEXT NOT NULL CHECK (kind IN ('appointment_booked',
                                'appointment_moved', 'appointment_cancelled', 'message',
                                'lead')),
            target          TEXT NOT NULL,
            payload         TEXT NOT NULL CHECK (json_valid(payload)),
            idempotency_key TEXT NOT NULL UNIQUE,
            status          TEXT NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'sent', 'dead')),
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            lease_until     TEXT,
            last_error      TEXT NOT NULL DEFAULT '',
            created_at      TEXT NOT NULL,
            sent_at         TEXT
        )""",
        "INSERT INTO outbox_v3 SELECT * FROM outbox",
        "DROP TABLE outbox",
        "ALTER TABLE outbox_v3 RENAME TO outbox",
        "CREATE INDEX outbox_due ON outbox (status, next_attempt_at, id)",
        "CREATE INDEX outbox_tenant ON outbox (tenant_id, created_at)",
        """CREATE TABLE callers (
            tenant_id  TEXT NOT NULL,
            phone      TEXT NOT NULL,
            name       TEXT NOT NULL DEFAULT '',
            first_seen TEXT NOT NULL,
            last_seen  TEXT NOT NULL,
            calls      INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (tenant_id, phone)
        )""",
        """CREATE TABLE leads (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,
            tenant_id  TEXT NOT NULL,
            call_id    TEXT REFERENCES calls (call_id) ON DELETE SET NULL,
            caller     TEXT NOT NULL DEFAULT '',
            kind       TEXT NOT NULL CHECK (kind <> ''),
            details    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details)),
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX leads_tenant ON leads (tenant_id, created_at)",
    ),
    # usage, latency, access log, console users (PostgreSQL: 0005_usage_access.sql). When
    # the call-back migration (PostgreSQL 0004) lands, it goes before this entry.
    LEDGER_MIGRATION,
    (  # privacy: requests register, flags, erasure events, recordings (PG: 0006_privacy.sql)
        """CREATE TABLE privacy_requests (
            id               INTEGER PRIMARY KEY AUTOINCREMENT,
            tenant_id        TEXT NOT NULL,
            phone            TEXT NOT NULL,
            kind             TEXT NOT NULL CHECK (kind IN ('access', 'rectification', 'erasure',
                                 'restriction', 'objection', 'portability')),
            received_at      TEXT NOT NULL,
            identity_check   TEXT NOT NULL CHECK (identity_check <> ''),
            due_at           TEXT NOT NULL,
            extended_to      TEXT,
            extension_reason TEXT NOT NULL DEFAULT '',
            answered_at      TEXT,
            answered_by      TEXT NOT NULL DEFAULT '',
            details          TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details))
        )""",
        "CREATE INDEX privacy_requests_due ON privacy_requests (answered_at, due_at)",
        """CREATE TABLE privacy_flags (
            tenant_id        TEXT NOT NULL,
            phone            TEXT NOT NULL,
            restricted_since TEXT,
            objected_since   TEXT,
            PRIMARY KEY (tenant_id, phone)
        )""",
        """CREATE TABLE outbox_v4 (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,
            tenant_id       TEXT NOT NULL,
            kind            TEXT NOT NULL CHECK (kind IN ('appointment_booked',
                                'appointment_moved', 'appointment_cancelled', 'message',
                                'lead', 'erasure')),
            target          TEXT NOT NULL,
            payload         TEXT NOT NULL CHECK (json_valid(payload)),
            idempotency_key TEXT NOT NULL UNIQUE,
            status          TEXT NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'sent', 'dead')),
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            lease_until     TEXT,
            last_error      TEXT NOT NULL DEFAULT '',
            created_at      TEXT NOT NULL,
            sent_at         TEXT
        )""",
        # call recordings by consent (agi.call.recording): the encrypted file of a call
        """CREATE TABLE recordings (
            call_id     TEXT PRIMARY KEY REFERENCES calls (call_id) ON DELETE CASCADE,
            tenant_id   TEXT NOT NULL,
            path        TEXT NOT NULL,
            key_id      TEXT NOT NULL,
            audio_bytes INTEGER NOT NULL,
            started_at  TEXT NOT NULL,
            ended_at    TEXT NOT NULL
        )""",
        "INSERT INTO outbox_v4 SELECT * FROM outbox",
        "DROP TABLE outbox",
        "ALTER TABLE outbox_v4 RENAME TO outbox",
        "CREATE INDEX outbox_due ON outbox (status, next_attempt_at, id)",
        "CREATE INDEX outbox_tenant ON outbox (tenant_id, created_at)",
    ),
    call_summary.SQLITE_MIGRATION,  # the call summary kind (PostgreSQL: 0007_call_summary.sql)
)
SCHEMA_VERSION = len(MIGRATIONS)

_CALL_COLUMNS = "call_id, tenant_id, caller, started_at, ended_at, outcome, data, language, channel"
_OUTBOX_COLUMNS = ("id, tenant_id, kind, target, payload, idempotency_key, status, attempts, "
                   "next_attempt_at, last_error, created_at, sent_at")
_APPT_COLUMNS = ("id, tenant_id, resource, service, starts_at, ends_at, customer_name, "
                 "customer_phone, status, call_id, blocked_until, revision, moved_by_call")
_CALLER_COLUMNS = "tenant_id, phone, name, first_seen, last_seen, calls"
_LEAD_COLUMNS = "id, tenant_id, call_id, caller, kind, details, created_at"


def to_db_time(value: datetime) -> str:
    """Fixed-width UTC text for ``value``; :class:`ValueError` if it is naive."""
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()}: give a timezone-aware datetime")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def from_db_time(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


class SqliteStore(SqliteLedger, Store):
    """The SQLite store. Create one per process and share it between threads.

    ``targets_for`` maps a tenant id to its notification target keys; with it, bookings,
    cancellations and messages queue outbox rows in their own transaction.
    """

    def __init__(self, path: str | Path, *, targets_for: TargetsFor | None = None,
                 usage: UsagePolicy | None = None) -> None:
        self.path = Path(path)
        self._targets_for = targets_for
        self.usage_policy = usage or UsagePolicy()
        self._local = threading.local()
        self._lock = threading.Lock()  # guards _conns, _busy and _closed only
        self._idle = threading.Condition(self._lock)  # notified when a thread's operation ends
        self._conns: dict[threading.Thread, sqlite3.Connection] = {}
        self._busy: set[threading.Thread] = set()  # threads inside an operation
        self._closed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the directory of {self.path}: {exc.strerror}") from exc
        with self._errors("open"):
            self._migrate(self._conn())

    # connections ------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        with self._lock:
            if self._closed:
                raise StoreError(f"store {self.path} is closed")
            self._prune_dead_threads()
            # check_same_thread=False only so close() may close connections of other
            # threads; each connection is otherwise used by its own thread alone.
            with self._errors("connect"):
                conn = sqlite3.connect(self.path, isolation_level=None,
                                       check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
            self._conns[threading.current_thread()] = conn
        with self._errors("connect"):
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA journal_mode = WAL")
            # NORMAL is durable across application crashes in WAL mode; only an OS crash or
            # power loss can roll back the last commits.
            conn.execute("PRAGMA synchronous = NORMAL")
        self._local.conn = conn
        return conn

    def _prune_dead_threads(self) -> None:
        for thread in [t for t in self._conns if not t.is_alive()]:
            self._conns.pop(thread).close()

    def close(self) -> None:
        """Close every thread's connection; later calls raise :class:`StoreError`.

        Operations already running (a call's last write in a worker thread while the server
        stops) finish first, up to CLOSE_WAIT_S: closing a connection another thread is
        using can crash the interpreter. One still busy after that is left to its thread."""
        with self._idle:
            self._closed = True
            if not self._idle.wait_for(lambda: not self._busy, timeout=CLOSE_WAIT_S):
                log.warning("store %s closed while %d operation(s) still run; their "
                            "connections close when they end", self.path, len(self._busy))
            conns = [c for t, c in self._conns.items() if t not in self._busy]
            self._conns = {}
        for conn in conns:
            conn.close()
        self._local = threading.local()

    @contextmanager
    def _use(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection for one operation, which close() waits for."""
        conn = self._conn()
        me = threading.current_thread()
        with self._lock:
            if self._closed:
                raise StoreError(f"store {self.path} is closed")
            self._busy.add(me)
        try:
            yield conn
        finally:
            with self._idle:
                self._busy.discard(me)
                self._idle.notify_all()

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            if getattr(exc, "sqlite_errorcode", 0) & 0xFF in _REFUSING:  # not the request's fault
                raise StoreUnavailable(f"{action} failed on {self.path}, which refuses writes now: "
                                       f"{exc}") from exc
            raise StoreError(f"{action} failed on {self.path}: {exc}") from exc

    @contextmanager
    def _write(self, action: str) -> Iterator[sqlite3.Connection]:
        """One write transaction holding SQLite's write lock from its first statement."""
        with self._use() as conn, self._errors(action):
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # some errors already rolled it back
                    conn.execute("ROLLBACK")
                raise

    def _read(self, action: str, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._use() as conn, self._errors(action):
            rows: list[tuple[Any, ...]] = conn.execute(sql, args).fetchall()
            return rows

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")  # a second process opening the file waits here
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(f"{self.path} has schema version {version}, newer than this "
                                 f"Permanence knows ({SCHEMA_VERSION}): upgrade Permanence")
            for number in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[number]:
                    conn.execute(statement)
                log.info("store %s migrated to schema version %d", self.path, number + 1)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    # calls ----------------------------------------------------------------------
    def start_call(self, call: CallRecord) -> None:
        ended = to_db_time(call.ended_at) if call.ended_at else None
        row = (call.call_id, call.tenant_id, call.caller, to_db_time(call.started_at), ended,
               call.outcome, dump_call_data(call.data), call.language, call.channel)
        with self._write(f"start_call {call.call_id}") as conn:
            conn.execute("INSERT INTO calls (call_id, tenant_id, caller, started_at, ended_at, "
                         "outcome, data, language, channel) VALUES (?,?,?,?,?,?,?,?,?)", row)
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
                 data: Mapping[str, Any] | None = None,
                 summary: Mapping[str, Any] | None = None) -> None:
        when = to_db_time(ended_at)
        encoded = None if data is None else dump_call_data(data)
        with self._write(f"end_call {call_id}") as conn:
            self._require_call(conn, call_id)
            conn.execute("UPDATE calls SET ended_at = ?, outcome = ?, data = COALESCE(?, data) "
                         "WHERE call_id = ?", (when, outcome, encoded, call_id))
            self._count_usage(conn, call_id)
            if summary:  # queued with the end of the call, once (agi.booking.call_summary)
                tenant_id, caller, started = conn.execute(
                    "SELECT tenant_id, caller, started_at FROM calls WHERE call_id = ?",
                    (call_id,)).fetchone()
                conn.executemany(call_summary.INSERT_SQLITE, call_summary.insert_args(
                    call_summary.summary_rows(self._targets_for, call_id, tenant_id, caller,
                                              from_db_time(started), from_db_time(when), outcome,
                                              summary), to_db_time(datetime.now(UTC))))

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

    def transcript(self, call_id: str) -> Sequence[Turn]:
        rows = self._read("transcript", "SELECT call_id, seq, speaker, text, at FROM turns "
                          "WHERE call_id = ? ORDER BY seq", (call_id,))
        return [Turn(r[0], r[1], r[2], r[3], from_db_time(r[4])) for r in rows]

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

    # outbox -----------------------------------------------------------------------
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

    # personal data: the SQL lives in agi.booking.sqlite_privacy --------------------
    # (imported here, not at the top: that module reads this one's row converters)
    def purge(self, before: PurgeCutoffs, *, dry_run: bool = False) -> PurgeReport:
        from agi.booking import sqlite_privacy

        with self._use() as conn, self._errors("purge"):
            return sqlite_privacy.purge(conn, before, dry_run)

    def erase_person(self, tenant_id: str, phone: str, *,
                     now: datetime | None = None) -> PurgeReport:
        from agi.booking import sqlite_privacy

        if not is_e164(phone):
            raise ValueError(f"{phone!r} is not an E.164 number")
        with self._use() as conn, self._errors(f"erase_person {tenant_id}"):
            return sqlite_privacy.erase_person(conn, tenant_id, phone, now or datetime.now(UTC))

    def personal_data(self, tenant_id: str, phone: str) -> dict[str, Any]:
        from agi.booking import sqlite_privacy

        if not is_e164(phone):
            raise ValueError(f"{phone!r} is not an E.164 number")
        with self._use() as conn, self._errors(f"personal_data {tenant_id}"):
            return sqlite_privacy.personal_data(conn, tenant_id, phone)

    def privacy(self) -> PrivacyRegister:
        from agi.booking import sqlite_register

        return sqlite_register.SqlitePrivacy(self._write, self._read, self._use, self._errors)

    def reseal(self, transform: Callable[[str, Any], Any]) -> int:
        from agi.booking import sqlite_privacy

        with self._use() as conn, self._errors("reseal"):
            return sqlite_privacy.reseal(conn, transform)


def _outbox_item(row: Sequence[Any]) -> OutboxItem:
    (id_, tenant_id, kind, target, payload, key, status, attempts, due, error, created,
     sent) = row
    return OutboxItem(id_, tenant_id, kind, target, load_payload(payload), key, status,
                      attempts, from_db_time(due), error, from_db_time(created),
                      from_db_time(sent) if sent else None)


def _call(row: Sequence[Any]) -> CallRecord:
    call_id, tenant_id, caller, started, ended, outcome, data, language, channel = row
    return CallRecord(call_id, tenant_id, caller, from_db_time(started),
                      from_db_time(ended) if ended else None, outcome, json.loads(data),
                      language, channel)


def _appointment(row: Sequence[Any]) -> Appointment:
    (id_, tenant_id, resource, service, starts, ends, name, phone, status, call_id, blocked,
     revision, moved_by) = row
    start, end = from_db_time(starts), from_db_time(ends)
    buffer_min = int((from_db_time(blocked) - end).total_seconds() // 60)
    return Appointment(id_, tenant_id, resource, service, start, end, name, phone, status,
                       call_id or "", buffer_min, revision, moved_by or "")


def _span(start: datetime, end: datetime, buffer_min: int) -> tuple[str, str, str]:
    """Database text of start, end and blocked_until; :class:`ValueError` if out of order."""
    if buffer_min < 0:
        raise ValueError(f"buffer must not be negative, not {buffer_min} minutes")
    first, last = to_db_time(start), to_db_time(end)
    if last <= first:
        raise ValueError(f"appointment ends ({last}) before it starts ({first})")
    return first, last, to_db_time(end + timedelta(minutes=buffer_min))


def _caller(row: Sequence[Any]) -> Caller:
    tenant_id, phone, name, first, last, calls = row
    return Caller(tenant_id, phone, name, from_db_time(first), from_db_time(last), calls)


def _lead(row: Sequence[Any]) -> Lead:
    id_, tenant_id, call_id, caller, kind, details, created = row
    return Lead(id_, tenant_id, call_id or "", caller, kind, json.loads(details),
                from_db_time(created))
