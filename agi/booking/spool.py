"""The local spool: what the database could not take, kept on disk and replayed in order.

When PostgreSQL is down or restarting, a call goes on: every write it makes (the call
record, transcript turns, collected data, a booking request, a message) is appended to a
small SQLite journal beside the controller, and :meth:`Spool.replay` writes it to the
database, in the order it happened, once the database answers again. Nothing a caller said
is lost, and nothing is written twice: an operation leaves the journal in the same step
it is applied (a replay interrupted between the two repeats at most that one operation,
and the store's own keys make the repeat harmless or a clear error that is kept aside).

A booking request that meets a slot taken in the meantime becomes a lead for the business
("call back"), never a silent drop; an operation the database refuses for good is moved to
the ``refused`` table with its error, for the business to read.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sqlite3
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from agi.booking import store as records
from agi.booking.store import Store
from agi.errors import SlotTaken, StoreError, StoreUnavailable

log = logging.getLogger(__name__)

# Only the store's write methods can be spooled; reads need the database itself.
SPOOLABLE = frozenset({"start_call", "set_caller", "add_turn", "update_call_data", "end_call",
                       "book", "add_message", "add_lead"})
_RECORD_TYPES = {cls.__name__: cls for cls in (records.CallRecord, records.NewAppointment)}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ops (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,          -- the call the operation belongs to
    method TEXT NOT NULL,
    args TEXT NOT NULL,         -- tagged JSON, see _encode
    queued_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS refused (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    method TEXT NOT NULL,
    args TEXT NOT NULL,
    queued_at TEXT NOT NULL,
    error TEXT NOT NULL,
    refused_at TEXT NOT NULL
);
"""


class Sealer(Protocol):
    """Encrypts a journal entry at rest (agi.privacy.crypto.Keyring): while the database is
    down the spool holds transcripts and messages, so a copy of it must reveal no more than
    a copy of the database."""

    def seal(self, text: str) -> str: ...

    def open(self, value: str) -> str: ...


class Spool:
    """A journal of store writes, keyed by call, replayed in order."""

    def __init__(self, path: str | Path, sealer: Sealer | None = None) -> None:
        self.path = Path(path)
        self._sealer = sealer
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # Writes the journal itself refused (its disk full too), in order, until it accepts
        # them again or their call ends (then they are counted as lost: see end_call).
        self._memory: list[tuple[str, str, str, str]] = []
        self.lost = 0
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the local spool {self.path}: {exc}") from exc

    def write(self, store: Store, method: str, *args: Any, key: str) -> Any:
        """``store.<method>(*args)``, or journal it when the database is unreachable.

        Once a call has anything journalled, its later writes are journalled too, so
        they reach the database in the order they happened. Returns the store's result,
        or None when journalled.
        """
        if method not in SPOOLABLE:
            raise ValueError(f"{method} cannot be spooled (reads need the database)")
        if not self.holds(key):
            try:
                return getattr(store, method)(*args)
            except StoreUnavailable as exc:
                log.warning("database unreachable, spooling %s for call %s: %s", method, key, exc)
        self.append(method, args, key=key)
        return None

    def append(self, method: str, args: tuple[Any, ...], *, key: str) -> None:
        if method not in SPOOLABLE:
            raise ValueError(f"{method} cannot be spooled (reads need the database)")
        encoded = _encode(args)
        if self._sealer is not None:
            encoded = self._sealer.seal(encoded)
        op = (key, method, encoded, datetime.now(UTC).isoformat())
        with self._lock:
            self._memory.append(op)  # behind anything already held: order is kept
            self._flush_memory()

    def _flush_memory(self) -> bool:
        """Move held writes into the journal, oldest first; False if it still refuses."""
        while self._memory:
            try:
                self._db.execute("INSERT INTO ops (key, method, args, queued_at) VALUES (?, ?, ?, ?)",
                                 self._memory[0])
            except sqlite3.Error as exc:
                log.warning("spool %s refuses writes (%s): %d write(s) held in memory", self.path,
                            exc, len(self._memory))
                return False
            del self._memory[0]
        return True

    def end_call(self, key: str) -> int:
        """The call ``key`` is over: what is still held in memory for it is lost now
        (database and spool both refused it); returns how many, logged with the count."""
        with self._lock:
            if self._flush_memory():
                return 0
            mine = [op for op in self._memory if op[0] == key]
            self._memory = [op for op in self._memory if op[0] != key]
        if mine:
            self.lost += len(mine)
            log.error("call %s: %d write(s) lost: the database and the spool %s both refused them "
                      "(%s)", key, len(mine), self.path, ", ".join(op[1] for op in mine))
        return len(mine)

    def holds(self, key: str) -> bool:
        with self._lock:
            if any(op[0] == key for op in self._memory):
                return True
            return self._db.execute("SELECT 1 FROM ops WHERE key = ? LIMIT 1", (key,)).fetchone() is not None

    def pending(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM ops").fetchone()[0]) + len(self._memory)

    def refused(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT key, method, error, refused_at FROM refused ORDER BY id").fetchall()
        return [dict(zip(("key", "method", "error", "refused_at"), row, strict=True)) for row in rows]

    def replay(self, store: Store) -> int:
        """Write journalled operations to ``store`` in order; stop at the first sign the
        database is still unreachable. Returns how many operations left the journal."""
        try:
            return self._replay(store)
        except sqlite3.Error as exc:  # the spool's own disk: try again at the next round
            log.warning("spool %s cannot be replayed now: %s", self.path, exc)
            return 0

    def _replay(self, store: Store) -> int:
        done = 0
        with self._lock:
            self._flush_memory()
            rows = self._db.execute("SELECT id, key, method, args, queued_at FROM ops ORDER BY id").fetchall()
            for op_id, key, method, args, queued_at in rows:
                try:
                    self._apply(store, method, _decode(self._sealer.open(args) if self._sealer else args))
                except StoreUnavailable:
                    break
                except StoreError as exc:
                    log.error("spooled %s for call %s refused by the database: %s", method, key, exc)
                    self._db.execute(
                        "INSERT INTO refused (id, key, method, args, queued_at, error, refused_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (op_id, key, method, args, queued_at, str(exc), datetime.now(UTC).isoformat()))
                self._db.execute("DELETE FROM ops WHERE id = ?", (op_id,))
                done += 1
        if done:
            log.info("spool: %d operation(s) written to the database", done)
        return done

    @staticmethod
    def _apply(store: Store, method: str, args: list[Any]) -> None:
        if method != "book":
            getattr(store, method)(*args)
            return
        appt: records.NewAppointment = args[0]
        try:
            store.book(appt)
        except SlotTaken:
            # Taken while the database was away: the business calls the caller back.
            store.add_lead(appt.tenant_id, appt.call_id, appt.customer_phone, "booking_request", {
                "reason": "slot taken while the database was unreachable",
                "service": appt.service, "resource": appt.resource,
                "starts_at": appt.starts_at.isoformat(), "name": appt.customer_name,
            }, datetime.now(UTC))

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _encode(args: tuple[Any, ...]) -> str:
    return json.dumps([_tag(a) for a in args], ensure_ascii=False)


def _tag(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if dataclasses.is_dataclass(value) and type(value).__name__ in _RECORD_TYPES:
        fields = {f.name: _tag(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"$record": type(value).__name__, "fields": fields}
    if isinstance(value, Mapping):
        return {"$map": {str(k): _tag(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return [_tag(v) for v in value]
    return value


def _decode(text: str) -> list[Any]:
    return [_untag(v) for v in json.loads(text)]


def _untag(value: Any) -> Any:
    if isinstance(value, dict):
        if "$datetime" in value:
            return datetime.fromisoformat(value["$datetime"])
        if "$record" in value:
            cls = _RECORD_TYPES[value["$record"]]
            return cls(**{k: _untag(v) for k, v in value["fields"].items()})
        if "$map" in value:
            return {k: _untag(v) for k, v in value["$map"].items()}
    if isinstance(value, list):
        return [_untag(v) for v in value]
    return value
