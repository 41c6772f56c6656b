"""Calls, their turns and their callers on the PostgreSQL store.

**Turn numbers** come from ``calls.last_turn_seq``, incremented in the same statement that
inserts the turn; the row lock serialises writers of one call. :meth:`end_call` counts the
call's usage in its own transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from agi.booking.postgres_pool import PostgresConnections
from agi.booking.postgres_rows import _call, _caller, _jsonb, aware_utc
from agi.booking.postgres_usage import PostgresLedger
from agi.booking.store import Caller, CallRecord, Speaker, Turn, is_e164


class PostgresCalls(PostgresConnections, PostgresLedger):
    """The calls, turns and callers part of :class:`agi.booking.postgres.PostgresStore`."""

    owner: str  # the controller recorded on each call it starts (set by the store)

    # calls ----------------------------------------------------------------------------
    def start_call(self, call: CallRecord) -> None:
        ended = aware_utc(call.ended_at) if call.ended_at else None
        started = aware_utc(call.started_at)
        with self._tx(f"start_call {call.call_id}") as conn:
            conn.execute(self._q.insert_call, (
                call.call_id, call.tenant_id, call.caller, started, ended,
                call.outcome, _jsonb(call.data), call.language, call.channel, self.owner))
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
                 data: Mapping[str, Any] | None = None) -> None:
        args = (aware_utc(ended_at), outcome, None if data is None else _jsonb(data), call_id)
        with self._tx(f"end_call {call_id}") as conn:
            if conn.execute(self._q.end_call, args).rowcount == 0:
                raise self._no_call(call_id)
            self._count_usage(conn, call_id)

    def get_call(self, call_id: str) -> CallRecord | None:
        rows = self._rows("get_call", self._q.get_call, (call_id,))
        return _call(rows[0]) if rows else None

    def list_calls(self, tenant_id: str | None = None, limit: int = 100) -> Sequence[CallRecord]:
        """The most recent calls first."""
        rows = self._rows("list_calls", self._q.list_calls, (tenant_id, tenant_id, limit))
        return [_call(r) for r in rows]

    def open_call_ids(self, owner: str | None = None, limit: int = 10_000) -> Sequence[str]:
        """Calls without an end, oldest first: ``owner``'s, or every owner's with ``None``."""
        rows = self._rows("open_call_ids", self._q.open_call_ids, (owner, owner, limit))
        return [r[0] for r in rows]

    def transcript(self, call_id: str) -> Sequence[Turn]:
        rows = self._rows("transcript", self._q.transcript, (call_id,))
        return [Turn(r[0], r[1], r[2], r[3], r[4].astimezone(UTC)) for r in rows]
