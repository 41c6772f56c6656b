"""The PostgreSQL store: :class:`agi.booking.store.Store` on psycopg 3 with a connection pool.

Same semantics as :class:`agi.booking.sqlite.SqliteStore` (the shared test suite runs on
both). :class:`PostgresStore` is assembled from one part per noun, each module saying
where its guarantees come from:

* :mod:`agi.booking.postgres_pool`: the pool, one short transaction per operation,
  outages and the schema check at open;
* :mod:`agi.booking.postgres_queries`: every statement, schema-qualified;
* :mod:`agi.booking.postgres_calls`: calls, turns (numbered under the call's row lock),
  callers;
* :mod:`agi.booking.postgres_appointments`: book, move, cancel (the exclusion constraint
  keeps appointments from overlapping);
* :mod:`agi.booking.postgres_messages`: messages and leads;
* :mod:`agi.booking.postgres_outbox`: the notification outbox (``SKIP LOCKED`` leases);
* :mod:`agi.booking.postgres_usage`: the usage, latency and access-log ledger;
* :mod:`agi.booking.postgres_privacy`, :mod:`agi.booking.postgres_register`: retention,
  erasure, access and the privacy register;
* :mod:`agi.booking.postgres_rows`: columns and row converters they share.

psycopg errors become :class:`StoreError` (``raise ... from exc``); naive datetimes are
rejected with :class:`ValueError`; everything returned is aware UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from agi.booking.migrate import DEFAULT_SCHEMA
from agi.booking.privacy_register import PrivacyRegister
from agi.booking.store import PurgeCutoffs, PurgeReport, Store, TargetsFor, is_e164
from agi.booking.usage import UsagePolicy
from agi.errors import StoreError

try:
    import psycopg  # noqa: F401 - checked here, used by the parts below
    import psycopg_pool  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise StoreError("the PostgreSQL store needs psycopg 3 and psycopg_pool: "
                     "pip install 'psycopg[binary]' psycopg_pool") from exc
# the parts need psycopg, checked above
from agi.booking import postgres_privacy, postgres_register  # noqa: E402
from agi.booking.postgres_appointments import BOOK_ATTEMPTS, PostgresAppointments  # noqa: E402
from agi.booking.postgres_calls import PostgresCalls  # noqa: E402
from agi.booking.postgres_messages import PostgresMessages  # noqa: E402
from agi.booking.postgres_pool import CONNECT_TIMEOUT_S, POOL_TIMEOUT_S  # noqa: E402
from agi.booking.postgres_rows import aware_utc  # noqa: E402

__all__ = ["BOOK_ATTEMPTS", "CONNECT_TIMEOUT_S", "POOL_TIMEOUT_S", "PostgresStore", "aware_utc"]


class PostgresStore(PostgresAppointments, PostgresMessages, PostgresCalls, Store):
    """The PostgreSQL store. Create one per process and share it between threads.

    ``targets_for`` maps a tenant id to its notification target keys; with it, bookings,
    cancellations and messages queue outbox rows in their own transaction. ``owner`` (the
    controller id) is recorded on every call this store starts: controllers sharing the
    database each recover only their own calls after a crash (agi.booking.recovery).
    """

    def __init__(self, dsn: str, schema: str = DEFAULT_SCHEMA, min_size: int = 1,
                 max_size: int = 10, *, timeout: float = POOL_TIMEOUT_S,
                 targets_for: TargetsFor | None = None, usage: UsagePolicy | None = None,
                 owner: str = "") -> None:
        self.owner = owner
        self._targets_for = targets_for
        self.usage_policy = usage or UsagePolicy()
        super().__init__(dsn, schema, min_size, max_size, timeout)

    # personal data: the SQL lives in agi.booking.postgres_privacy --------------------
    def purge(self, before: PurgeCutoffs, *, dry_run: bool = False) -> PurgeReport:
        return postgres_privacy.purge(self._tx, self._privacy_queries(), before, dry_run)

    def erase_person(self, tenant_id: str, phone: str, *,
                     now: datetime | None = None) -> PurgeReport:
        if not is_e164(phone):
            raise ValueError(f"{phone!r} is not an E.164 number")
        return postgres_privacy.erase_person(self._tx, self._privacy_queries(), tenant_id, phone,
                                             now or datetime.now(UTC))

    def personal_data(self, tenant_id: str, phone: str) -> dict[str, Any]:
        if not is_e164(phone):
            raise ValueError(f"{phone!r} is not an E.164 number")
        return postgres_privacy.personal_data(self._tx, self._privacy_queries(), tenant_id, phone)

    def _privacy_queries(self) -> postgres_privacy.PrivacyQueries:
        return postgres_privacy.PrivacyQueries(self.schema)

    def privacy(self) -> PrivacyRegister:
        return postgres_register.PostgresPrivacy(self._tx, self.schema)

    def reseal(self, transform: Callable[[str, Any], Any]) -> int:
        return postgres_privacy.reseal(self._tx, self.schema, transform)
