"""Every statement of the PostgreSQL store, composed once with schema-qualified names.

Tables are always named with their schema (``psycopg.sql.Identifier(schema, table)``), so
the store works whatever the connection's ``search_path``, also behind a
transaction-mode pooler.
"""

from __future__ import annotations

from collections.abc import Sequence

from psycopg import sql

from agi.booking.postgres_rows import (
    _APPT_COLUMNS,
    _CALL_COLUMNS,
    _CALLER_COLUMNS,
    _LEAD_COLUMNS,
    _MESSAGE_COLUMNS,
    _OUTBOX_COLUMNS,
)


class Queries:
    """Every statement of the store, composed once with the schema-qualified table names."""

    def __init__(self, schema: str) -> None:
        def table(name: str) -> sql.Identifier:
            return sql.Identifier(schema, name)

        def cols(names: Sequence[str]) -> sql.Composed:
            return sql.SQL(", ").join(map(sql.Identifier, names))

        def q(text: str) -> sql.Composed:
            return sql.SQL(text).format(
                calls=table("calls"), turns=table("turns"), appointments=table("appointments"),
                messages=table("messages"), outbox=table("outbox"), call_cols=cols(_CALL_COLUMNS),
                appt_cols=cols(_APPT_COLUMNS), message_cols=cols(_MESSAGE_COLUMNS),
                outbox_cols=cols(_OUTBOX_COLUMNS), callers=table("callers"),
                caller_cols=cols(_CALLER_COLUMNS), leads=table("leads"),
                lead_cols=cols(_LEAD_COLUMNS))

        live_overlap = ("tenant_id = %s AND resource = %s AND status <> 'cancelled' "
                        "AND tstzrange(starts_at, blocked_until, '[)') && tstzrange(%s, %s, '[)') "
                        "AND id IS DISTINCT FROM %s")
        self.insert_call = q("INSERT INTO {calls} ({call_cols}, owner) "
                             "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")
        self.open_call_ids = q("SELECT call_id FROM {calls} WHERE ended_at IS NULL AND "
                               "(%s::text IS NULL OR owner = %s) ORDER BY started_at, call_id "
                               "LIMIT %s")
        self.set_caller = q("UPDATE {calls} SET caller = %s WHERE call_id = %s")
        self.set_data = q("UPDATE {calls} SET data = %s WHERE call_id = %s")
        self.end_call = q("UPDATE {calls} SET ended_at = %s, outcome = %s, "
                          "data = COALESCE(%s, data) WHERE call_id = %s")
        # One statement: take the next number under the call's row lock, insert the turn.
        self.add_turn = q("WITH c AS (UPDATE {calls} SET last_turn_seq = last_turn_seq + 1 "
                          "WHERE call_id = %s RETURNING call_id, last_turn_seq) "
                          "INSERT INTO {turns} (call_id, seq, speaker, text, at) "
                          "SELECT c.call_id, c.last_turn_seq, %s, %s, %s FROM c RETURNING seq")
        self.call_exists = q("SELECT 1 FROM {calls} WHERE call_id = %s")
        self.get_call = q("SELECT {call_cols} FROM {calls} WHERE call_id = %s")
        self.list_calls = q("SELECT {call_cols} FROM {calls} WHERE (%s::text IS NULL OR tenant_id = %s) "
                            "ORDER BY started_at DESC, call_id LIMIT %s")
        self.transcript = q("SELECT call_id, seq, speaker, text, at FROM {turns} "
                            "WHERE call_id = %s ORDER BY seq")
        self.insert_appointment = q(
            "INSERT INTO {appointments} (tenant_id, resource, service, starts_at, ends_at, "
            "customer_name, customer_phone, status, call_id, blocked_until) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, 'booked', %s, %s) RETURNING {appt_cols}")
        self.appointment_for_update = q("SELECT {appt_cols} FROM {appointments} WHERE id = %s "
                                        "FOR UPDATE")
        self.move = q("UPDATE {appointments} SET resource = %s, starts_at = %s, ends_at = %s, "
                      "blocked_until = %s, status = 'moved', revision = revision + 1, "
                      "moved_by_call = %s WHERE id = %s RETURNING {appt_cols}")
        self.call_for_update = q("SELECT tenant_id, caller, started_at FROM {calls} "
                                 "WHERE call_id = %s FOR UPDATE")
        self.upsert_caller = q(
            "INSERT INTO {callers} ({caller_cols}) VALUES (%s, %s, COALESCE(%s, ''), %s, %s, %s) "
            "ON CONFLICT (tenant_id, phone) DO UPDATE SET "
            "name = CASE WHEN %s::text IS NULL THEN {callers}.name ELSE EXCLUDED.name END, "
            "first_seen = LEAST({callers}.first_seen, EXCLUDED.first_seen), "
            "last_seen = GREATEST({callers}.last_seen, EXCLUDED.last_seen), "
            "calls = {callers}.calls + EXCLUDED.calls RETURNING {caller_cols}")
        self.get_caller = q("SELECT {caller_cols} FROM {callers} WHERE tenant_id = %s AND phone = %s")
        self.add_lead = q("INSERT INTO {leads} (tenant_id, call_id, caller, kind, details, created_at) "
                          "VALUES (%s, %s, %s, %s, %s, %s) RETURNING {lead_cols}")
        self.leads = q("SELECT {lead_cols} FROM {leads} WHERE tenant_id = %s ORDER BY created_at, id")
        self.first_overlap = q("SELECT {appt_cols} FROM {appointments} WHERE " + live_overlap
                               + " ORDER BY starts_at, id LIMIT 1")
        self.window = q("SELECT {appt_cols} FROM {appointments} WHERE tenant_id = %s "
                        "AND status <> 'cancelled' "
                        "AND tstzrange(starts_at, blocked_until, '[)') && tstzrange(%s, %s, '[)') "
                        "AND (%s::text IS NULL OR resource = %s) ORDER BY starts_at, id")
        self.for_caller = q("SELECT {appt_cols} FROM {appointments} WHERE tenant_id = %s "
                            "AND customer_phone = %s AND status <> 'cancelled' ORDER BY starts_at, id")
        self.cancel = q("UPDATE {appointments} SET status = 'cancelled', revision = revision + "
                        "CASE WHEN status = 'cancelled' THEN 0 ELSE 1 END WHERE id = %s "
                        "RETURNING {appt_cols}")
        self.add_message = q("INSERT INTO {messages} (tenant_id, call_id, caller, name, text, created_at) "
                             "VALUES (%s, %s, %s, %s, %s, %s) RETURNING {message_cols}")
        self.messages = q("SELECT {message_cols} FROM {messages} WHERE tenant_id = %s "
                          "ORDER BY created_at, id")
        self.status_for_update = q("SELECT status FROM {appointments} WHERE id = %s FOR UPDATE")
        self.insert_outbox = q("INSERT INTO {outbox} (tenant_id, kind, target, payload, "
                               "idempotency_key, next_attempt_at, created_at) "
                               "VALUES (%s, %s, %s, %s, %s, %s, %s)")
        # READ COMMITTED re-checks a row it waited for against the WHERE clause, and SKIP
        # LOCKED passes rows another claimer holds: a row is leased by one claimer only.
        # https://www.postgresql.org/docs/current/sql-select.html#SQL-FOR-UPDATE-SHARE
        self.claim_outbox = q(
            "UPDATE {outbox} SET lease_until = %s WHERE id IN (SELECT id FROM {outbox} "
            "WHERE status = 'pending' AND next_attempt_at <= %s "
            "AND (lease_until IS NULL OR lease_until <= %s) ORDER BY next_attempt_at, id "
            "LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING {outbox_cols}")
        self.outbox_sent = q("UPDATE {outbox} SET status = 'sent', sent_at = %s, lease_until = NULL "
                             "WHERE id = %s AND status = 'pending'")
        self.outbox_failed = q(
            "UPDATE {outbox} SET attempts = attempts + %s, last_error = %s, next_attempt_at = %s, "
            "status = CASE WHEN %s THEN 'dead' ELSE status END, lease_until = NULL "
            "WHERE id = %s AND status = 'pending'")
        self.outbox_exists = q("SELECT 1 FROM {outbox} WHERE id = %s")
        self.outbox = q("SELECT {outbox_cols} FROM {outbox} WHERE (%s::text IS NULL OR tenant_id = %s) "
                        "AND (%s::text IS NULL OR status = %s) ORDER BY id")
