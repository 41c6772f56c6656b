-- Permanence store, version 1: calls, turns, appointments, messages.
--
-- Run by agi.booking.migrate inside one transaction with search_path set to the
-- configured schema only, so every name below lands in that schema (the business's own
-- database keeps its tables apart). Never edit this file once released: its checksum is
-- recorded in schema_migrations and a changed file stops `permanence db migrate`. Add
-- 0002_*.sql instead.

-- btree_gist gives GiST operator classes for plain equality (tenant_id WITH =), which the
-- exclusion constraint on appointments needs next to the range overlap (&&). It goes to
-- the public schema, not ours, so that dropping one Permanence schema never cascades to
-- the constraints of another one in the same database. It is a trusted extension since
-- PostgreSQL 13: the database owner (any role with CREATE on the database) may install it.
CREATE EXTENSION IF NOT EXISTS btree_gist SCHEMA public;

CREATE TABLE calls (
    call_id       text PRIMARY KEY,
    tenant_id     text NOT NULL,
    caller        text NOT NULL DEFAULT '',
    started_at    timestamptz NOT NULL,
    ended_at      timestamptz,
    outcome       text NOT NULL DEFAULT '',
    data          jsonb NOT NULL DEFAULT '{}'::jsonb,
    language      text NOT NULL DEFAULT 'fr',
    channel       text NOT NULL DEFAULT '',
    -- the last turn number handed out: incremented under the row lock, so concurrent
    -- writers of one call get 1, 2, 3... without gaps or duplicates
    last_turn_seq integer NOT NULL DEFAULT 0
);
CREATE INDEX calls_tenant_started ON calls (tenant_id, started_at);

CREATE TABLE turns (
    call_id text NOT NULL REFERENCES calls (call_id) ON DELETE CASCADE,
    seq     integer NOT NULL CHECK (seq > 0),
    speaker text NOT NULL CHECK (speaker IN ('caller', 'agent')),
    text    text NOT NULL,
    at      timestamptz NOT NULL,
    PRIMARY KEY (call_id, seq)
);

-- call_id is NULL for appointments made outside a call; erasing a call keeps the
-- appointment the business still has to honour.
CREATE TABLE appointments (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id      text NOT NULL,
    resource       text NOT NULL,
    service        text NOT NULL,
    starts_at      timestamptz NOT NULL,
    ends_at        timestamptz NOT NULL,
    customer_name  text NOT NULL,
    customer_phone text NOT NULL,
    status         text NOT NULL DEFAULT 'booked'
                   CHECK (status IN ('booked', 'moved', 'cancelled')),
    call_id        text REFERENCES calls (call_id) ON DELETE SET NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT appointments_ends_after_start CHECK (ends_at > starts_at),
    -- Two live appointments of one tenant's resource can never overlap, whatever the
    -- isolation level or the number of writers: a second INSERT waits for the first to
    -- commit and then fails with exclusion_violation (SQLSTATE 23P01). '[)' makes
    -- back-to-back appointments legal. The GiST index also serves overlap queries.
    CONSTRAINT appointments_no_overlap EXCLUDE USING gist (
        tenant_id WITH =,
        resource WITH =,
        tstzrange(starts_at, ends_at, '[)') WITH &&
    ) WHERE (status <> 'cancelled')
);
CREATE INDEX appointments_phone ON appointments (tenant_id, customer_phone);

CREATE TABLE messages (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id  text NOT NULL,
    call_id    text REFERENCES calls (call_id) ON DELETE SET NULL,
    caller     text NOT NULL DEFAULT '',
    name       text NOT NULL DEFAULT '',
    text       text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX messages_tenant ON messages (tenant_id, created_at);
