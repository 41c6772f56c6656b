"""The SQLite store's connections: one per thread, one transaction per operation.

Threading: one connection per thread. Call sessions reach the store from worker threads
at the same time; with a connection each, WAL lets readers (a transcript dump, an
availability search) run while another thread writes, and every write takes SQLite's own
write lock with ``BEGIN IMMEDIATE``. That lock, not a Python lock, is what makes the
appointment overlap check atomic, so it also holds against a second process on the same
file (``permanence db`` while ``permanence serve`` runs). A single shared connection behind
a Python lock would serialise reads too and protect nothing across processes.

:class:`SqliteConnections` is the base of every part of
:class:`agi.booking.sqlite.SqliteStore` (calls, appointments, messages, outbox): they
reach the file only through :meth:`~SqliteConnections._write` and
:meth:`~SqliteConnections._read`, which turn :class:`sqlite3.Error` into
:class:`agi.errors.StoreError` (or :class:`agi.errors.StoreUnavailable` when the file
refuses writes).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from agi.booking.sqlite_schema import MIGRATIONS, SCHEMA_VERSION
from agi.errors import StoreError, StoreUnavailable

log = logging.getLogger("agi.booking.sqlite")

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


class SqliteConnections:
    """The file at ``path``, migrated at open, and each thread's connection to it."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
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
