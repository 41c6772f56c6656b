"""The SQLite store's schema: :data:`MIGRATIONS`, applied in order at open.

Schema versions live in ``PRAGMA user_version``; version n+1 is reached by running
``MIGRATIONS[n]``. The PostgreSQL twin of each step is named beside it
(``agi/booking/migrations/NNNN_name.sql``).
"""

from __future__ import annotations

from agi.booking.sqlite_usage import MIGRATION as LEDGER_MIGRATION

# Version n+1 is reached by running MIGRATIONS[n]. Append, never edit a released entry.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE calls (
            call_id    TEXT PRIMARY KEY,
            tenant_id  TEXT NOT NULL,
            caller     TEXT NOT NULL DEFAULT '',
            started_at TEXT NOT NULL,
            ended_at   TEXT,
            outcome    TEXT NOT NULL DEFAULT '',
            data       TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(data)),
            language   TEXT NOT NULL DEFAULT 'fr',
            channel    TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX calls_tenant_started ON calls (tenant_id, started_at)",
        """CREATE TABLE turns (
            call_id TEXT NOT NULL REFERENCES calls (call_id) ON DELETE CASCADE,
            seq     INTEGER NOT NULL CHECK (seq > 0),
            speaker TEXT NOT NULL CHECK (speaker IN ('caller', 'agent')),
            text    TEXT NOT NULL,
            at      TEXT NOT NULL,
            PRIMARY KEY (call_id, seq)
        )""",
        # call_id is NULL for appointments made outside a call; erasing a call keeps the
        # appointment the business still has to honour.
        """CREATE TABLE appointments (
            id             INTEGER PRIMARY KEY AUTOINCREMENT,
            tenant_id      TEXT NOT NULL,
            resource       TEXT NOT NULL,
            service        TEXT NOT NULL,
            starts_at      TEXT NOT NULL,
            ends_at        TEXT NOT NULL,
            customer_name  TEXT NOT NULL,
            customer_phone TEXT NOT NULL,
            status         TEXT NOT NULL DEFAULT 'booked'
                           CHECK (status IN ('booked', 'moved', 'cancelled')),
            call_id        TEXT REFERENCES calls (call_id) ON DELETE SET NULL,
            created_at     TEXT NOT NULL,
            CHECK (ends_at > starts_at)
        )""",
        "CREATE INDEX appointments_slot ON appointments (tenant_id, resource, starts_at)",
        "CREATE INDEX appointments_phone ON appointments (tenant_id, customer_phone)",
        """CREATE TABLE messages (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,
            tenant_id  TEXT NOT NULL,
            call_id    TEXT REFERENCES calls (call_id) ON DELETE SET NULL,
            caller     TEXT NOT NULL DEFAULT '',
            name       TEXT NOT NULL DEFAULT '',
            text       TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX messages_tenant ON messages (tenant_id, created_at)",
    ),
    (  # 2: the outbox of notifications to the business (agi.booking.outbox)
        """CREATE TABLE outbox (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,
            tenant_id       TEXT NOT NULL,
            kind            TEXT NOT NULL CHECK (kind IN ('appointment_booked',
                                'appointment_cancelled', 'message')),
            target          TEXT NOT NULL,
            payload         TEXT NOT NULL CHECK (json_valid(payload)),
            idempotency_key TEXT NOT NULL UNIQUE,
            status          TEXT NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'sent', 'dead')),
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            lease_until     TEXT,
            last_error      TEXT NOT NULL DEFAULT '',
            created_at      TEXT NOT NULL,
            sent_at         TEXT
        )""",
        "CREATE INDEX outbox_due ON outbox (status, next_attempt_at, id)",
        "CREATE INDEX outbox_tenant ON outbox (tenant_id, created_at)",
    ),
    (  # 3: buffers, moves, callers, leads (PostgreSQL: migrations/0003_booking_domain.sql)
        # blocked_until = ends_at + the service's buffer: what the overlap check compares
        "ALTER TABLE appointments ADD COLUMN blocked_until TEXT NOT NULL DEFAULT ''",
        "UPDATE appointments SET blocked_until = ends_at",
        "ALTER TABLE appointments ADD COLUMN revision INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE appointments ADD COLUMN moved_by_call TEXT "
        "REFERENCES calls (call_id) ON DELETE SET NULL",
        # SQLite cannot change a CHECK constraint: the outbox is rebuilt with the new kinds
        """CREATE TABLE outbox_v3 (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,
            tenant_id       TEXT NOT NULL,
            kind            TEXT NOT NULL CHECK (kind IN ('appointment_booked',
                                'appointment_moved', 'appointment_cancelled', 'message',
                                'lead')),
            target          TEXT NOT NULL,
            payload         TEXT NOT NULL CHECK (json_valid(payload)),
            idempotency_key TEXT NOT NULL UNIQUE,
            status          TEXT NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'sent', 'dead')),
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            lease_until     TEXT,
            last_error      TEXT NOT NULL DEFAULT '',
            created_at      TEXT NOT NULL,
            sent_at         TEXT
        )""",
        "INSERT INTO outbox_v3 SELECT * FROM outbox",
        "DROP TABLE outbox",
        "ALTER TABLE outbox_v3 RENAME TO outbox",
        "CREATE INDEX outbox_due ON outbox (status, next_attempt_at, id)",
        "CREATE INDEX outbox_tenant ON outbox (tenant_id, created_at)",
        """CREATE TABLE callers (
            tenant_id  TEXT NOT NULL,
            phone      TEXT NOT NULL,
            name       TEXT NOT NULL DEFAULT '',
            first_seen TEXT NOT NULL,
            last_seen  TEXT NOT NULL,
            calls      INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (tenant_id, phone)
        )""",
        """CREATE TABLE leads (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,
            tenant_id  TEXT NOT NULL,
            call_id    TEXT REFERENCES calls (call_id) ON DELETE SET NULL,
            caller     TEXT NOT NULL DEFAULT '',
            kind       TEXT NOT NULL CHECK (kind <> ''),
            details    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details)),
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX leads_tenant ON leads (tenant_id, created_at)",
    ),
    # usage, latency, access log, console users (PostgreSQL: 0005_usage_access.sql). When
    # the call-back migration (PostgreSQL 0004) lands, it goes before this entry.
    LEDGER_MIGRATION,
    (  # privacy: requests register, flags, erasure events, recordings (PG: 0006_privacy.sql)
        """CREATE TABLE privacy_requests (
            id               INTEGER PRIMARY KEY AUTOINCREMENT,
            tenant_id        TEXT NOT NULL,
            phone            TEXT NOT NULL,
            kind             TEXT NOT NULL CHECK (kind IN ('access', 'rectification', 'erasure',
                                 'restriction', 'objection', 'portability')),
            received_at      TEXT NOT NULL,
            identity_check   TEXT NOT NULL CHECK (identity_check <> ''),
            due_at           TEXT NOT NULL,
            extended_to      TEXT,
            extension_reason TEXT NOT NULL DEFAULT '',
            answered_at      TEXT,
            answered_by      TEXT NOT NULL DEFAULT '',
            details          TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details))
        )""",
        "CREATE INDEX privacy_requests_due ON privacy_requests (answered_at, due_at)",
        """CREATE TABLE privacy_flags (
            tenant_id        TEXT NOT NULL,
            phone            TEXT NOT NULL,
            restricted_since TEXT,
            objected_since   TEXT,
            PRIMARY KEY (tenant_id, phone)
        )""",
        """CREATE TABLE outbox_v4 (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,
            tenant_id       TEXT NOT NULL,
            kind            TEXT NOT NULL CHECK (kind IN ('appointment_booked',
                                'appointment_moved', 'appointment_cancelled', 'message',
                                'lead', 'erasure')),
            target          TEXT NOT NULL,
            payload         TEXT NOT NULL CHECK (json_valid(payload)),
            idempotency_key TEXT NOT NULL UNIQUE,
            status          TEXT NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'sent', 'dead')),
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            lease_until     TEXT,
            last_error      TEXT NOT NULL DEFAULT '',
            created_at      TEXT NOT NULL,
            sent_at         TEXT
        )""",
        # call recordings by consent (agi.call.recording): the encrypted file of a call
        """CREATE TABLE recordings (
            call_id     TEXT PRIMARY KEY REFERENCES calls (call_id) ON DELETE CASCADE,
            tenant_id   TEXT NOT NULL,
            path        TEXT NOT NULL,
            key_id      TEXT NOT NULL,
            audio_bytes INTEGER NOT NULL,
            started_at  TEXT NOT NULL,
            ended_at    TEXT NOT NULL
        )""",
        "INSERT INTO outbox_v4 SELECT * FROM outbox",
        "DROP TABLE outbox",
        "ALTER TABLE outbox_v4 RENAME TO outbox",
        "CREATE INDEX outbox_due ON outbox (status, next_attempt_at, id)",
        "CREATE INDEX outbox_tenant ON outbox (tenant_id, created_at)",
    ),
    (  # which controller took each call (agi.booking.recovery; PG: 0007_call_owner.sql)
        "ALTER TABLE calls ADD COLUMN owner TEXT NOT NULL DEFAULT ''",
        "CREATE INDEX calls_open_by_owner ON calls (owner, started_at) WHERE ended_at IS NULL",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
