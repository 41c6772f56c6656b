"""The embedded store: :class:`agi.booking.store.Store` on a SQLite file (stdlib ``sqlite3``).

:class:`SqliteStore` is assembled from one part per noun, each in its own module:

* :mod:`agi.booking.sqlite_connection`: a connection per thread, one ``BEGIN IMMEDIATE``
  transaction per write, :class:`sqlite3.Error` mapped to :class:`StoreError`;
* :mod:`agi.booking.sqlite_schema`: the migrations (``PRAGMA user_version``);
* :mod:`agi.booking.sqlite_calls`: calls, turns, callers;
* :mod:`agi.booking.sqlite_appointments`: book, move, cancel and the overlap check;
* :mod:`agi.booking.sqlite_messages`: messages and leads;
* :mod:`agi.booking.sqlite_outbox`: the notification outbox;
* :mod:`agi.booking.sqlite_usage`: the usage, latency and access-log ledger;
* :mod:`agi.booking.sqlite_privacy`, :mod:`agi.booking.sqlite_register`: retention,
  erasure, access and the privacy register;
* :mod:`agi.booking.sqlite_rows`: columns, time text and row converters they share.

Datetimes are stored as fixed-width UTC text so that text order is time order; naive
datetimes are rejected with :class:`ValueError`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agi.booking import sqlite_privacy, sqlite_register
from agi.booking.privacy_register import PrivacyRegister
from agi.booking.sqlite_appointments import SqliteAppointments
from agi.booking.sqlite_connection import BUSY_TIMEOUT_MS, CLOSE_WAIT_S
from agi.booking.sqlite_messages import SqliteMessages
from agi.booking.sqlite_rows import from_db_time, to_db_time
from agi.booking.sqlite_schema import MIGRATIONS, SCHEMA_VERSION
from agi.booking.store import PurgeCutoffs, PurgeReport, Store, TargetsFor, is_e164
from agi.booking.usage import UsagePolicy

__all__ = ["BUSY_TIMEOUT_MS", "CLOSE_WAIT_S", "MIGRATIONS", "SCHEMA_VERSION", "SqliteStore",
           "from_db_time", "to_db_time"]


class SqliteStore(SqliteAppointments, SqliteMessages, Store):
    """The SQLite store. Create one per process and share it between threads.

    ``targets_for`` maps a tenant id to its notification target keys; with it, bookings,
    cancellations and messages queue outbox rows in their own transaction. ``owner`` (the
    controller id) is recorded on every call this store starts.
    """

    def __init__(self, path: str | Path, *, targets_for: TargetsFor | None = None,
                 usage: UsagePolicy | None = None, owner: str = "") -> None:
        self.owner = owner
        self._targets_for = targets_for
        self.usage_policy = usage or UsagePolicy()
        super().__init__(path)

    # personal data: the SQL lives in agi.booking.sqlite_privacy --------------------
    def purge(self, before: PurgeCutoffs, *, dry_run: bool = False) -> PurgeReport:
        with self._use() as conn, self._errors("purge"):
            return sqlite_privacy.purge(conn, before, dry_run)

    def erase_person(self, tenant_id: str, phone: str, *,
                     now: datetime | None = None) -> PurgeReport:
        if not is_e164(phone):
            raise ValueError(f"{phone!r} is not an E.164 number")
        with self._use() as conn, self._errors(f"erase_person {tenant_id}"):
            return sqlite_privacy.erase_person(conn, tenant_id, phone, now or datetime.now(UTC))

    def personal_data(self, tenant_id: str, phone: str) -> dict[str, Any]:
        if not is_e164(phone):
            raise ValueError(f"{phone!r} is not an E.164 number")
        with self._use() as conn, self._errors(f"personal_data {tenant_id}"):
            return sqlite_privacy.personal_data(conn, tenant_id, phone)

    def privacy(self) -> PrivacyRegister:
        return sqlite_register.SqlitePrivacy(self._write, self._read, self._use, self._errors)

    def reseal(self, transform: Callable[[str, Any], Any]) -> int:
        with self._use() as conn, self._errors("reseal"):
            return sqlite_privacy.reseal(conn, transform)
