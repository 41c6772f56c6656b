-- Permanence store, version 2: the outbox of notifications to the business.
--
-- One row per notification and target (e-mail, web hook, CalDAV calendar), inserted in
-- the same transaction as the appointment, cancellation or message it reports, so a
-- notification exists exactly when its write committed. agi.notify.OutboxWorker claims
-- due rows with FOR UPDATE SKIP LOCKED plus a lease (lease_until), delivers them and marks
-- them sent, or schedules a retry, or gives up (dead). Never edit once released.

CREATE TABLE outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       text NOT NULL,
    kind            text NOT NULL
                    CHECK (kind IN ('appointment_booked', 'appointment_cancelled', 'message')),
    target          text NOT NULL,       -- "email:office", "webhook:crm", "caldav:agenda"
    payload         jsonb NOT NULL,      -- what happened, as it was at commit time
    -- the same for every attempt of this row: receivers drop repeated deliveries by it
    idempotency_key text NOT NULL UNIQUE,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dead')),
    attempts        integer NOT NULL DEFAULT 0,  -- failed attempts so far
    next_attempt_at timestamptz NOT NULL,
    -- while in the future, a worker is delivering this row; past it, the worker is
    -- presumed dead and another one may claim the row again
    lease_until     timestamptz,
    last_error      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    sent_at         timestamptz
);
-- Claiming reads only pending rows in due order: a partial index stays small however
-- much history the table keeps.
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX outbox_tenant ON outbox (tenant_id, created_at);
