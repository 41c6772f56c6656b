-- Permanence store, version 6: the data subject's rights (agi.privacy.rights, docs/privacy.md).
--
-- Never edit once released (see 0001_initial.sql).

-- Every request a person makes about their data (access, rectification, erasure,
-- restriction, objection, portability), when it is due (one calendar month, GDPR art.
-- 12(3), extended by up to two more with a reason) and how it was answered. Kept after an
-- erasure: it is the business's proof that it answered (art. 5(2)).
CREATE TABLE privacy_requests (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id        text NOT NULL,
    phone            text NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('access', 'rectification', 'erasure',
                         'restriction', 'objection', 'portability')),
    received_at      timestamptz NOT NULL,
    identity_check   text NOT NULL CHECK (identity_check <> ''),
    due_at           timestamptz NOT NULL,
    extended_to      timestamptz,
    extension_reason text NOT NULL DEFAULT '',
    answered_at      timestamptz,
    answered_by      text NOT NULL DEFAULT '',
    details          jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX privacy_requests_open ON privacy_requests (due_at) WHERE answered_at IS NULL;

-- Restriction (art. 18: kept, not used or sent) and objection (art. 21: never contacted).
CREATE TABLE privacy_flags (
    tenant_id        text NOT NULL,
    phone            text NOT NULL,
    restricted_since timestamptz,
    objected_since   timestamptz,
    PRIMARY KEY (tenant_id, phone)
);

-- Call recordings by consent (agi.call.recording): the encrypted file of a call. The
-- file goes with its row (purge, erasure, refusal); the row goes with its call.
CREATE TABLE recordings (
    call_id     text PRIMARY KEY REFERENCES calls (call_id) ON DELETE CASCADE,
    tenant_id   text NOT NULL,
    path        text NOT NULL,
    key_id      text NOT NULL,
    audio_bytes bigint NOT NULL,
    started_at  timestamptz NOT NULL,
    ended_at    timestamptz NOT NULL
);

-- An erasure is told to the web hooks and calendars that received the person's data.
ALTER TABLE outbox
    DROP CONSTRAINT outbox_kind_check,
    ADD CONSTRAINT outbox_kind_check CHECK (kind IN ('appointment_booked', 'appointment_moved',
        'appointment_cancelled', 'message', 'lead', 'erasure'));
