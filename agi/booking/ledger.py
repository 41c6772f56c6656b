"""The store's ledger: usage aggregates, turn latencies, the access log, console users.

A mixin of :class:`agi.booking.store.Store`: its methods are written once over
:meth:`_ledger_run`, which each store implements on its own transactions (SQLite:
``agi.booking.sqlite_usage``; PostgreSQL: ``agi.booking.postgres_usage``). None of this is
personal data about callers (see :mod:`agi.booking.usage` and
:mod:`agi.booking.access_log`), so the privacy purge never touches it; its own retention
is :meth:`purge_ledger`.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from agi.booking import access_log, latency, usage
from agi.booking.access_log import AccessEntry, ConsoleUser, Handled, HandledKind
from agi.booking.latency import TurnFigures
from agi.booking.usage import Statement, UsageDay, UsagePolicy

LEDGER_TABLES = ("usage_daily", "usage_alerts", "turn_latency", "access_log", "console_users",
                 "handled", "calls", "appointments", "messages", "leads")


class Ledger(abc.ABC):
    """Usage, latency, access log and console records on the store's own database."""

    usage_policy: UsagePolicy = UsagePolicy()

    @abc.abstractmethod
    def _ledger_run(self, action: str,
                    statements: Sequence[Statement]) -> list[list[tuple[Any, ...]]]:
        """Run the statements (shared SQL, see agi.booking.usage) in one transaction."""

    # usage ----------------------------------------------------------------------------
    def usage_days(self, first: date, last: date, tenant_id: str | None = None) -> list[UsageDay]:
        """Usage aggregates of the tenants' local days ``first``..``last`` (inclusive)."""
        return usage.read_usage(self._ledger_run, first, last, tenant_id)

    def claim_usage_alert(self, tenant_id: str, month: str, kind: str, at: datetime) -> bool:
        """True only the first time: the monthly threshold alert is sent once."""
        return usage.claim_alert(self._ledger_run, tenant_id, month, kind, at)

    # latency ---------------------------------------------------------------------------
    def record_turn(self, turn: TurnFigures) -> None:
        latency.record_turn(self._ledger_run, turn)

    def turn_figures(self, since: datetime, until: datetime,
                     tenant_ids: Sequence[str] | None = None) -> list[TurnFigures]:
        return latency.read_turns(self._ledger_run, since, until, tenant_ids)

    # access log ------------------------------------------------------------------------
    def log_access(self, entry: AccessEntry) -> None:
        access_log.log_access(self._ledger_run, entry)

    def access_log(self, since: datetime | None = None, limit: int = 10_000) -> list[AccessEntry]:
        return access_log.read_access(self._ledger_run, since, limit)

    # console users and handled marks ---------------------------------------------------
    def save_user(self, user: ConsoleUser, now: datetime) -> None:
        access_log.save_user(self._ledger_run, user, now)

    def user(self, name: str) -> ConsoleUser | None:
        return access_log.get_user(self._ledger_run, name)

    def users(self) -> list[ConsoleUser]:
        return access_log.list_users(self._ledger_run)

    def remove_user(self, name: str) -> bool:
        return access_log.remove_user(self._ledger_run, name)

    def mark_handled(self, kind: HandledKind, item_id: int, tenant_id: str, by: str,
                     at: datetime) -> Handled:
        return access_log.mark_handled(self._ledger_run, kind, item_id, tenant_id, by, at)

    def handled(self, tenant_id: str) -> dict[tuple[str, int], Handled]:
        return access_log.read_handled(self._ledger_run, tenant_id)

    # retention -------------------------------------------------------------------------
    def purge_ledger(self, usage_before: date, turns_before: datetime,
                     access_before: datetime) -> dict[str, int]:
        """The ledger's own retention (billing, latency, access log); rows removed by kind."""
        return {"usage": usage.purge_usage(self._ledger_run, usage_before),
                "turns": latency.purge_turns(self._ledger_run, turns_before),
                "access_log": access_log.purge_access(self._ledger_run, access_before),
                "handled": access_log.purge_handled(self._ledger_run)}
