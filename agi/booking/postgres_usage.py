"""The ledger (:mod:`agi.booking.ledger`) on the PostgreSQL store: its runner.

The shared SQL is written with ``?`` parameters and ``{table}`` names; here they become
``%s`` and schema-qualified identifiers (``psycopg.sql``), once per statement text. The
schema is ``migrations/0005_usage_access.sql``. Imported by :mod:`agi.booking.postgres`
only (psycopg is its adapter's import).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from psycopg import sql

from agi.booking.ledger import LEDGER_TABLES, Ledger
from agi.booking.usage import Execute, Statement, UsageDay, count_call

if TYPE_CHECKING:
    import psycopg


@lru_cache(maxsize=256)
def compose(schema: str, text: str) -> sql.Composed:
    """The shared statement ``text`` for ``schema``: ``?`` -> ``%s``, names qualified."""
    names = {name: sql.Identifier(schema, name) for name in LEDGER_TABLES}
    return sql.SQL(text.replace("?", "%s")).format(**names)


def execute_on(conn: psycopg.Connection[Any], schema: str) -> Execute:
    def execute(text: str, args: Sequence[Any]) -> list[tuple[Any, ...]]:
        cur = conn.execute(compose(schema, text), list(args))
        return cur.fetchall() if cur.description is not None else []
    return execute


class PostgresLedger(Ledger):
    """The ledger's runner for :class:`agi.booking.postgres.PostgresStore`."""

    schema: str

    if TYPE_CHECKING:  # PostgresStore's
        def _tx(self, action: str) -> AbstractContextManager[psycopg.Connection[Any]]: ...

    def _ledger_run(self, action: str,
                    statements: Sequence[Statement]) -> list[list[tuple[Any, ...]]]:
        with self._tx(action) as conn:
            run = execute_on(conn, self.schema)
            return [run(text, args) for text, args in statements]

    def _count_usage(self, conn: psycopg.Connection[Any], call_id: str) -> UsageDay | None:
        """Called by end_call inside its transaction."""
        return count_call(execute_on(conn, self.schema), call_id, self.usage_policy)
