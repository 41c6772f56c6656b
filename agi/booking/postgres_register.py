"""The register of privacy requests, restriction and objection flags, rectification,
erasure notices and recordings on the PostgreSQL store (:class:`PrivacyRegister`, built by
:meth:`agi.booking.postgres.PostgresStore.privacy`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql

from agi.booking.outbox import load_payload, outbox_rows
from agi.booking.postgres_privacy import Transaction, _step
from agi.booking.postgres_rows import (
    aware_utc,
)
from agi.booking.privacy_register import (
    Flag,
    PersonFlags,
    PrivacyRegister,
    PrivacyRequest,
    RecordingRow,
    RectifyReport,
    RequestKind,
)
from agi.booking.store import OutboxKind
from agi.errors import StoreError

# the data subject's rights (agi.booking.privacy_register) ---------------------------------
_REQUEST_COLUMNS = ("id", "tenant_id", "phone", "kind", "received_at", "identity_check",
                    "due_at", "extended_to", "extension_reason", "answered_at", "answered_by",
                    "details")
_RECTIFY = (("calls", "caller", None), ("appointments", "customer_phone", "customer_name"),
            ("messages", "caller", "name"), ("leads", "caller", None))


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value else None


def _request(row: Sequence[Any]) -> PrivacyRequest:
    (id_, tenant_id, phone, kind, received, check, due, extended, reason, answered, by,
     details) = row
    return PrivacyRequest(id_, tenant_id, phone, kind, received.astimezone(UTC), check,
                          due.astimezone(UTC), _utc(extended), reason, _utc(answered), by,
                          details)


class PostgresPrivacy(PrivacyRegister):
    """:class:`PrivacyRegister` in the store's schema, through its ``_tx``."""

    def __init__(self, tx: Transaction, schema: str) -> None:
        self._tx = tx
        self._schema = schema

    def _q(self, text: str) -> sql.Composed:
        return sql.SQL(text).format(
            requests=sql.Identifier(self._schema, "privacy_requests"),
            flags=sql.Identifier(self._schema, "privacy_flags"),
            callers=sql.Identifier(self._schema, "callers"),
            cols=sql.SQL(", ").join(map(sql.Identifier, _REQUEST_COLUMNS)))

    def _one(self, action: str, text: str, args: Sequence[Any]) -> tuple[Any, ...] | None:
        with self._tx(action) as conn:
            return conn.execute(self._q(text), args).fetchone()

    # requests ----------------------------------------------------------------------------
    def add_request(self, tenant_id: str, phone: str, kind: RequestKind, received_at: datetime,
                    due_at: datetime, identity_check: str) -> PrivacyRequest:
        row = self._one("add_request", "INSERT INTO {requests} (tenant_id, phone, kind, "
                        "received_at, identity_check, due_at) VALUES (%s,%s,%s,%s,%s,%s) "
                        "RETURNING {cols}", (tenant_id, phone, kind, aware_utc(received_at),
                                             identity_check, aware_utc(due_at)))
        assert row is not None
        return _request(row)

    def request(self, request_id: int) -> PrivacyRequest | None:
        row = self._one("request", "SELECT {cols} FROM {requests} WHERE id = %s", (request_id,))
        return _request(row) if row else None

    def requests(self, tenant_id: str | None = None, *,
                 open_only: bool = False) -> Sequence[PrivacyRequest]:
        with self._tx("requests") as conn:
            rows = conn.execute(self._q(
                "SELECT {cols} FROM {requests} WHERE (%s::text IS NULL OR tenant_id = %s) "
                "AND (NOT %s OR answered_at IS NULL) ORDER BY COALESCE(extended_to, due_at), id"),
                (tenant_id, tenant_id, open_only)).fetchall()
        return [_request(r) for r in rows]

    def _update(self, request_id: int, action: str, assignments: str,
                args: Sequence[Any]) -> PrivacyRequest:
        row = self._one(f"{action} {request_id}", "UPDATE {requests} SET " + assignments +
                        " WHERE id = %s RETURNING {cols}", (*args, request_id))
        if row is None:
            raise StoreError(f"no privacy request {request_id}")
        return _request(row)

    def extend_request(self, request_id: int, until: datetime, reason: str) -> PrivacyRequest:
        return self._update(request_id, "extend_request",
                            "extended_to = %s, extension_reason = %s", (aware_utc(until), reason))

    def answer_request(self, request_id: int, at: datetime | None, by: str,
                       details: Mapping[str, Any]) -> PrivacyRequest:
        from psycopg.types.json import Jsonb

        return self._update(request_id, "answer_request",
                            "answered_at = %s, answered_by = %s, details = %s",
                            (aware_utc(at) if at else None, by, Jsonb(dict(details))))

    # flags --------------------------------------------------------------------------------
    def set_flag(self, tenant_id: str, phone: str, flag: Flag,
                 since: datetime | None) -> PersonFlags:
        column = sql.Identifier({"restricted": "restricted_since",
                                 "objected": "objected_since"}[flag])
        with self._tx(f"set_flag {tenant_id}") as conn:
            conn.execute(sql.SQL("INSERT INTO {} (tenant_id, phone, {}) VALUES (%s, %s, %s) "
                                 "ON CONFLICT (tenant_id, phone) DO UPDATE SET {} = EXCLUDED.{}")
                         .format(sql.Identifier(self._schema, "privacy_flags"), column, column,
                                 column),
                         (tenant_id, phone, aware_utc(since) if since else None))
            conn.execute(self._q("DELETE FROM {flags} WHERE tenant_id = %s AND phone = %s AND "
                                 "restricted_since IS NULL AND objected_since IS NULL"),
                         (tenant_id, phone))
        return self.flags(tenant_id, phone)

    def flags(self, tenant_id: str, phone: str) -> PersonFlags:
        row = self._one("flags", "SELECT restricted_since, objected_since FROM {flags} "
                        "WHERE tenant_id = %s AND phone = %s", (tenant_id, phone))
        if row is None:
            return PersonFlags(tenant_id, phone)
        return PersonFlags(tenant_id, phone, _utc(row[0]), _utc(row[1]))

    def flagged(self, tenant_id: str | None = None) -> Sequence[PersonFlags]:
        with self._tx("flagged") as conn:
            rows = conn.execute(self._q(
                "SELECT tenant_id, phone, restricted_since, objected_since FROM {flags} "
                "WHERE %s::text IS NULL OR tenant_id = %s ORDER BY tenant_id, phone"),
                (tenant_id, tenant_id)).fetchall()
        return [PersonFlags(r[0], r[1], _utc(r[2]), _utc(r[3])) for r in rows]

    def drop_transcripts(self, tenant_id: str, since: datetime, before: datetime, *,
                         dry_run: bool = False) -> int:
        (count,) = _step(self._tx, f"transcripts {tenant_id}", dry_run, [(sql.SQL(
            "DELETE FROM {} WHERE call_id IN (SELECT call_id FROM {} WHERE tenant_id = %s "
            "AND started_at >= %s AND started_at < %s)").format(
            sql.Identifier(self._schema, "turns"), sql.Identifier(self._schema, "calls")),
            (tenant_id, aware_utc(since), aware_utc(before)))])
        return count

    def queue_notice(self, tenant_id: str, kind: OutboxKind, targets: Sequence[str],
                     entity_id: int | str, payload: Mapping[str, Any]) -> list[str]:
        from psycopg.types.json import Jsonb

        rows = outbox_rows(lambda _t, _k: targets, tenant_id, kind, entity_id, payload)
        now = datetime.now(UTC)  # the outbox's due times are the application's clock
        with self._tx(f"queue_notice {tenant_id}") as conn, conn.cursor() as cur:
            cur.executemany(sql.SQL(
                "INSERT INTO {} (tenant_id, kind, target, payload, idempotency_key, "
                "next_attempt_at, created_at) VALUES (%s,%s,%s,%s,%s,%s,%s) "
                "ON CONFLICT (idempotency_key) DO NOTHING").format(
                sql.Identifier(self._schema, "outbox")),
                [(r.tenant_id, r.kind, r.target, Jsonb(load_payload(r.payload)),
                  r.idempotency_key, now, now) for r in rows])
        return [r.idempotency_key for r in rows]

    # recordings -------------------------------------------------------------------------
    def add_recording(self, recording: RecordingRow) -> None:
        r = recording
        with self._tx(f"add_recording {r.call_id}") as conn:
            conn.execute(sql.SQL("INSERT INTO {} (call_id, tenant_id, path, key_id, audio_bytes, "
                                 "started_at, ended_at) VALUES (%s,%s,%s,%s,%s,%s,%s)").format(
                sql.Identifier(self._schema, "recordings")),
                (r.call_id, r.tenant_id, r.path, r.key_id, r.audio_bytes,
                 aware_utc(r.started_at), aware_utc(r.ended_at)))

    def recordings(self, tenant_id: str | None = None) -> Sequence[RecordingRow]:
        with self._tx("recordings") as conn:
            rows = conn.execute(sql.SQL(
                "SELECT call_id, tenant_id, path, key_id, audio_bytes, started_at, ended_at "
                "FROM {} WHERE %s::text IS NULL OR tenant_id = %s ORDER BY started_at, call_id"
            ).format(sql.Identifier(self._schema, "recordings")), (tenant_id, tenant_id)).fetchall()
        return [RecordingRow(r[0], r[1], r[2], r[3], r[4], r[5].astimezone(UTC),
                             r[6].astimezone(UTC)) for r in rows]

    def delete_recording(self, call_id: str) -> None:
        with self._tx(f"delete_recording {call_id}") as conn:
            conn.execute(sql.SQL("DELETE FROM {} WHERE call_id = %s").format(
                sql.Identifier(self._schema, "recordings")), (call_id,))

    # rectification ----------------------------------------------------------------------
    def rectify(self, tenant_id: str, phone: str, *, new_phone: str | None = None,
                new_name: str | None = None) -> RectifyReport:
        counts: dict[str, int] = {}
        with self._tx(f"rectify {tenant_id}") as conn:
            for table, phone_col, name_col in _RECTIFY:
                sets = []
                args: list[Any] = []
                if new_phone:
                    sets.append(sql.SQL("{} = %s").format(sql.Identifier(phone_col)))
                    args.append(new_phone)
                if new_name is not None and name_col:
                    sets.append(sql.SQL("{} = %s").format(sql.Identifier(name_col)))
                    args.append(new_name)
                counts[table] = conn.execute(sql.SQL(
                    "UPDATE {} SET {} WHERE tenant_id = %s AND {} = %s").format(
                    sql.Identifier(self._schema, table), sql.SQL(", ").join(sets),
                    sql.Identifier(phone_col)), (*args, tenant_id, phone)).rowcount if sets else 0
            counts["callers"] = self._rectify_caller(conn, tenant_id, phone, new_phone, new_name)
            if new_phone:
                conn.execute(self._q("DELETE FROM {flags} WHERE tenant_id = %s AND phone = %s "
                                     "AND EXISTS (SELECT 1 FROM {flags} WHERE tenant_id = %s "
                                     "AND phone = %s)"), (tenant_id, new_phone, tenant_id, phone))
                conn.execute(self._q("UPDATE {flags} SET phone = %s WHERE tenant_id = %s "
                                     "AND phone = %s"), (new_phone, tenant_id, phone))
        return RectifyReport(**counts)

    def _rectify_caller(self, conn: psycopg.Connection[Any], tenant_id: str, phone: str,
                        new_phone: str | None, new_name: str | None) -> int:
        n = 0
        if new_name is not None:
            n = conn.execute(self._q("UPDATE {callers} SET name = %s WHERE tenant_id = %s "
                                     "AND phone = %s"), (new_name, tenant_id, phone)).rowcount
        if new_phone:
            old = conn.execute(self._q("DELETE FROM {callers} WHERE tenant_id = %s AND phone = %s "
                                       "RETURNING name, first_seen, last_seen, calls"),
                               (tenant_id, phone)).fetchone()
            if old is not None:
                conn.execute(self._q(
                    "INSERT INTO {callers} (tenant_id, phone, name, first_seen, last_seen, calls) "
                    "VALUES (%s,%s,%s,%s,%s,%s) ON CONFLICT (tenant_id, phone) DO UPDATE SET "
                    "name = EXCLUDED.name, "
                    "first_seen = LEAST({callers}.first_seen, EXCLUDED.first_seen), "
                    "last_seen = GREATEST({callers}.last_seen, EXCLUDED.last_seen), "
                    "calls = {callers}.calls + EXCLUDED.calls"), (tenant_id, new_phone, *old))
                n = max(n, 1)
        return n
