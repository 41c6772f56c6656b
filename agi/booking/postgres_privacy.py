"""Retention, erasure, access and re-encryption on the PostgreSQL store (GDPR articles 5(1)(e), 15, 17).

The statements behind :meth:`PostgresStore.purge`, :meth:`PostgresStore.erase_person` and
:meth:`PostgresStore.personal_data`, kept apart from :mod:`agi.booking.postgres` so that
module stays about calls and bookings. Every function runs inside the store's ``_tx``
(a pooled connection, one transaction, psycopg errors turned into
:class:`agi.errors.StoreError`); a dry run rolls back a savepoint with
:class:`psycopg.Rollback`, so its counts come from the very statements a real run executes.

No new index: erasures and purges are rare (daily, or on request) and scan tables a
small business fills slowly; the existing ``(tenant_id, started_at)`` and
``(tenant_id, created_at)`` indexes serve the purge.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql

from agi.booking.outbox import load_payload
from agi.booking.postgres_rows import (
    _APPT_COLUMNS,
    _CALL_COLUMNS,
    _CALLER_COLUMNS,
    _LEAD_COLUMNS,
    _MESSAGE_COLUMNS,
    _OUTBOX_COLUMNS,
    _appointment,
    _call,
    _caller,
    _lead,
    _message,
    _outbox_item,
    aware_utc,
)
from agi.booking.privacy_export import OutboxCandidate, outbox_to_erase, person_export, quoted
from agi.booking.store import PurgeCutoffs, PurgeReport, Turn

Transaction = Callable[[str], AbstractContextManager[psycopg.Connection[Any]]]


class PrivacyQueries:
    """The statements, composed once with the schema-qualified table names."""

    def __init__(self, schema: str) -> None:
        def cols(names: Sequence[str]) -> sql.Composed:
            return sql.SQL(", ").join(map(sql.Identifier, names))

        def q(text: str) -> sql.Composed:
            tables = {name: sql.Identifier(schema, name) for name in (
                "calls", "turns", "callers", "messages", "leads", "appointments", "outbox")}
            return sql.SQL(text).format(
                **tables, call_cols=cols(_CALL_COLUMNS), appt_cols=cols(_APPT_COLUMNS),
                caller_cols=cols(_CALLER_COLUMNS), lead_cols=cols(_LEAD_COLUMNS),
                message_cols=cols(_MESSAGE_COLUMNS), outbox_cols=cols(_OUTBOX_COLUMNS))

        # purge -------------------------------------------------------------------
        self.old_turns = q("DELETE FROM {turns} WHERE call_id IN "
                           "(SELECT call_id FROM {calls} WHERE started_at < %s)")
        self.old_calls = q("DELETE FROM {calls} WHERE started_at < %s")
        self.old_callers = q("DELETE FROM {callers} WHERE last_seen < %s")
        self.old_messages = q("DELETE FROM {messages} WHERE created_at < %s")
        self.old_leads = q("DELETE FROM {leads} WHERE created_at < %s")
        self.old_appointments = q(
            "UPDATE {appointments} SET customer_name = '', customer_phone = '' "
            "WHERE ends_at < %s AND (customer_name <> '' OR customer_phone <> '')")
        self.old_outbox = q("DELETE FROM {outbox} WHERE (status = 'sent' AND sent_at < %s) "
                            "OR (status = 'dead' AND created_at < %s)")
        # one number ----------------------------------------------------------------
        self.their_turns = q("DELETE FROM {turns} WHERE call_id IN (SELECT call_id FROM {calls} "
                             "WHERE tenant_id = %s AND caller = %s)")
        self.their_calls = q("DELETE FROM {calls} WHERE tenant_id = %s AND caller = %s")
        self.their_messages = q("DELETE FROM {messages} WHERE tenant_id = %s AND caller = %s")
        self.their_leads = q("DELETE FROM {leads} WHERE tenant_id = %s AND caller = %s")
        self.their_caller = q("DELETE FROM {callers} WHERE tenant_id = %s AND phone = %s")
        self.their_upcoming = q(
            "SELECT {appt_cols} FROM {appointments} WHERE tenant_id = %s AND customer_phone = %s "
            "AND status <> 'cancelled' AND ends_at > %s ORDER BY starts_at, id FOR UPDATE")
        self.anonymise_theirs = q(
            "UPDATE {appointments} SET customer_name = '', customer_phone = '' "
            "WHERE tenant_id = %s AND customer_phone = %s "
            "AND (status = 'cancelled' OR ends_at <= %s)")
        self.their_outbox_candidates = q(
            "SELECT id, status, kind, payload, lease_until FROM {outbox} "
            "WHERE tenant_id = %s AND payload::text LIKE %s FOR UPDATE")
        self.delete_outbox = q("DELETE FROM {outbox} WHERE id = ANY(%s)")
        # access --------------------------------------------------------------------
        self.get_caller = q("SELECT {caller_cols} FROM {callers} WHERE tenant_id = %s "
                            "AND phone = %s")
        self.their_call_rows = q("SELECT {call_cols} FROM {calls} WHERE tenant_id = %s "
                                 "AND caller = %s ORDER BY started_at, call_id")
        self.transcript = q("SELECT call_id, seq, speaker, text, at FROM {turns} "
                            "WHERE call_id = %s ORDER BY seq")
        self.their_appointments = q("SELECT {appt_cols} FROM {appointments} WHERE tenant_id = %s "
                                    "AND customer_phone = %s ORDER BY starts_at, id")
        self.their_message_rows = q("SELECT {message_cols} FROM {messages} WHERE tenant_id = %s "
                                    "AND caller = %s ORDER BY created_at, id")
        self.their_lead_rows = q("SELECT {lead_cols} FROM {leads} WHERE tenant_id = %s "
                                 "AND caller = %s ORDER BY created_at, id")
        self.their_outbox = q("SELECT {outbox_cols} FROM {outbox} WHERE tenant_id = %s "
                              "AND payload::text LIKE %s ORDER BY id")


def _step(tx: Transaction, kind: str, dry_run: bool,
          statements: Sequence[tuple[sql.Composed, Sequence[Any]]]) -> list[int]:
    """One kind's statements in one transaction; rows changed by each."""
    with tx(f"purge {kind}") as conn:
        with conn.transaction() as savepoint:
            counts = [conn.execute(query, args).rowcount for query, args in statements]
            if dry_run:
                raise psycopg.Rollback(savepoint)
    return counts


def purge(tx: Transaction, q: PrivacyQueries, before: PurgeCutoffs, dry_run: bool) -> PurgeReport:
    """See :meth:`agi.booking.store.Store.purge`."""
    calls, messages = aware_utc(before.calls), aware_utc(before.messages)
    appts, outbox = aware_utc(before.appointments), aware_utc(before.outbox)
    turns_n, calls_n = _step(tx, "calls", dry_run, [(q.old_turns, (calls,)),
                                                     (q.old_calls, (calls,))])
    (callers_n,) = _step(tx, "callers", dry_run, [(q.old_callers, (calls,))])
    (messages_n,) = _step(tx, "messages", dry_run, [(q.old_messages, (messages,))])
    (leads_n,) = _step(tx, "leads", dry_run, [(q.old_leads, (messages,))])
    (appts_n,) = _step(tx, "appointments", dry_run, [(q.old_appointments, (appts,))])
    (outbox_n,) = _step(tx, "outbox", dry_run, [(q.old_outbox, (outbox, messages))])
    return PurgeReport(calls=calls_n, turns=turns_n, callers=callers_n, messages=messages_n,
                       leads=leads_n, appointments=appts_n, outbox=outbox_n)


def erase_person(tx: Transaction, q: PrivacyQueries, tenant_id: str, phone: str,
                 now: datetime) -> PurgeReport:
    """See :meth:`agi.booking.store.Store.erase_person` (one transaction)."""
    at, who = aware_utc(now), (tenant_id, phone)
    with tx(f"erase_person {tenant_id}") as conn:
        turns_n = conn.execute(q.their_turns, who).rowcount
        calls_n = conn.execute(q.their_calls, who).rowcount
        messages_n = conn.execute(q.their_messages, who).rowcount
        leads_n = conn.execute(q.their_leads, who).rowcount
        callers_n = conn.execute(q.their_caller, who).rowcount
        upcoming = tuple(_appointment(r) for r in conn.execute(q.their_upcoming, (*who, at)))
        appts_n = conn.execute(q.anonymise_theirs, (*who, at)).rowcount
        candidates = [OutboxCandidate(r[0], r[1], r[2], load_payload(r[3]),
                                      r[4].astimezone(UTC) if r[4] else None)
                      for r in conn.execute(q.their_outbox_candidates,
                                            (tenant_id, quoted(phone)))]
        doomed = outbox_to_erase(candidates, {a.id for a in upcoming}, at)
        if doomed:
            conn.execute(q.delete_outbox, (doomed,))
    return PurgeReport(calls=calls_n, turns=turns_n, callers=callers_n, messages=messages_n,
                       leads=leads_n, appointments=appts_n, outbox=len(doomed),
                       upcoming=upcoming)


def personal_data(tx: Transaction, q: PrivacyQueries, tenant_id: str,
                  phone: str) -> dict[str, Any]:
    """See :meth:`agi.booking.store.Store.personal_data` (one transaction, consistent)."""
    who = (tenant_id, phone)
    with tx(f"personal_data {tenant_id}") as conn:
        caller = conn.execute(q.get_caller, who).fetchone()
        calls = [_call(r) for r in conn.execute(q.their_call_rows, who)]
        turns = [(c, [Turn(r[0], r[1], r[2], r[3], r[4].astimezone(UTC))
                      for r in conn.execute(q.transcript, (c.call_id,))]) for c in calls]
        appts = [_appointment(r) for r in conn.execute(q.their_appointments, who)]
        messages = [_message(r) for r in conn.execute(q.their_message_rows, who)]
        leads = [_lead(r) for r in conn.execute(q.their_lead_rows, who)]
        outbox = [_outbox_item(r) for r in conn.execute(q.their_outbox,
                                                        (tenant_id, quoted(phone)))]
    return person_export(tenant_id, phone, _caller(caller) if caller else None, turns, appts,
                         messages, leads, outbox)


# (table, row key, column, kind): where free text is kept, for agi.privacy.sealed
SEALED_COLUMNS = (("turns", ("call_id", "seq"), "text", "text"),
                  ("messages", ("id",), "text", "text"), ("calls", ("call_id",), "data", "doc"),
                  ("leads", ("id",), "details", "doc"), ("outbox", ("id",), "payload", "payload"))


def reseal(tx: Transaction, schema: str, transform: Callable[[str, Any], Any]) -> int:
    """See :meth:`agi.booking.store.Store.reseal` (one transaction per table, rows locked).

    The old row versions stay in the table files until PostgreSQL's (auto)vacuum reclaims
    them; ``pg_dump`` never reads them. docs/privacy.md says to run VACUUM after."""
    from psycopg.types.json import Jsonb

    changed = 0
    for table, keys, column, kind in SEALED_COLUMNS:
        where = sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(k)) for k in keys)
        select = sql.SQL("SELECT {}, {} FROM {} FOR UPDATE").format(
            sql.SQL(", ").join(map(sql.Identifier, keys)), sql.Identifier(column),
            sql.Identifier(schema, table))
        update = sql.SQL("UPDATE {} SET {} = %s WHERE {}").format(
            sql.Identifier(schema, table), sql.Identifier(column), where)
        with tx(f"reseal {table}") as conn:
            for row in conn.execute(select).fetchall():
                value = row[-1]
                new = transform(kind, value)
                if new != value:
                    conn.execute(update, (new if kind == "text" else Jsonb(new), *row[:-1]))
                    changed += 1
    return changed
