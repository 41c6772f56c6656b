"""The PostgreSQL store's connections: a pool, one short transaction per operation.

* **Threads**: a :class:`psycopg_pool.ConnectionPool`; every method borrows a connection
  for one short transaction, so call sessions on worker threads never share one.
* **Outages**: with the server down a call fails with :class:`StoreError` after at most
  ``timeout`` seconds (the caller must not wait in silence); the pool keeps reconnecting in
  the background with its own back-off (1 s, 2 s, 4 s...), so the store works again
  within seconds of the server's return, without being reopened.
* **Schema**: created and upgraded by :func:`agi.booking.migrate.migrate`
  (``permanence db migrate``); opening a store on a schema that is missing or behind is an
  error that says so, never a silent migration of the business's database.

:class:`PostgresConnections` is the base of every part of
:class:`agi.booking.postgres.PostgresStore` (calls, appointments, messages, outbox).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from agi.booking.migrate import check_schema_name, latest_version, read_applied_if_any
from agi.booking.postgres_queries import Queries
from agi.errors import StoreError, StoreUnavailable

# How long a store call waits for a pooled connection (and at open, for the first one).
# A call in progress cannot hold the caller in silence for long: past this the caller is
# told the request is noted, so it must be short, but long enough to ride out a burst of
# simultaneous bookings queueing for the pool.
POOL_TIMEOUT_S = 5.0
# A new connection gives up after this (psycopg's connect_timeout, whole seconds).
CONNECT_TIMEOUT_S = 3


class PostgresConnections:
    """The pool on ``dsn`` and the statements for ``schema``, checked at open."""

    def __init__(self, dsn: str, schema: str, min_size: int, max_size: int,
                 timeout: float) -> None:
        self.schema = check_schema_name(schema)
        self._timeout = timeout
        self._closed = False
        self._q = Queries(schema)
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
