-- Permanence store, version 5: usage for billing, turn latencies, the access log, the
-- console's users and handled marks (SQLite: agi/booking/sqlite_usage.py MIGRATION).
--
-- None of these tables holds personal data about callers; the privacy purge leaves them
-- alone and each has its own retention ([usage] in the settings).
-- Never edit once released (see 0001_initial.sql).

-- set once, by the end of call that counts it: a replayed end of call finds it set
ALTER TABLE calls ADD COLUMN usage_counted integer NOT NULL DEFAULT 0;

CREATE TABLE usage_daily (
    tenant_id     text NOT NULL,
    day           text NOT NULL CHECK (day ~ '^\d{4}-\d{2}-\d{2}$'),  -- the tenant's local day
    outcome       text NOT NULL,
    calls         integer NOT NULL DEFAULT 0,
    connected_s   bigint NOT NULL DEFAULT 0,
    billed_s      bigint NOT NULL DEFAULT 0,
    bookings      integer NOT NULL DEFAULT 0,
    moves         integer NOT NULL DEFAULT 0,
    cancellations integer NOT NULL DEFAULT 0,
    messages      integer NOT NULL DEFAULT 0,
    leads         integer NOT NULL DEFAULT 0,
    transfers     integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, day, outcome)
);

CREATE TABLE usage_alerts (
    tenant_id text NOT NULL,
    month     text NOT NULL,
    kind      text NOT NULL,
    sent_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, month, kind)
);

CREATE TABLE turn_latency (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id      text NOT NULL,
    call_id        text NOT NULL,
    at             timestamptz NOT NULL,
    endpoint_ms    double precision NOT NULL,
    recognition_ms double precision NOT NULL,
    dialogue_ms    double precision NOT NULL,
    synthesis_ms   double precision NOT NULL,
    voice_ms       double precision
);
CREATE INDEX turn_latency_at ON turn_latency (at);

CREATE TABLE access_log (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL,
    actor     text NOT NULL,
    action    text NOT NULL,
    tenant_id text NOT NULL DEFAULT '',
    subject   text NOT NULL DEFAULT '',
    source    text NOT NULL DEFAULT '',
    channel   text NOT NULL DEFAULT 'console'
);
CREATE INDEX access_log_at ON access_log (at);

CREATE TABLE console_users (
    name          text PRIMARY KEY,
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'staff', 'billing')),
    tenants       text NOT NULL DEFAULT '',
    language      text NOT NULL DEFAULT 'fr',
    created_at    timestamptz NOT NULL
);

CREATE TABLE handled (
    kind      text NOT NULL CHECK (kind IN ('message', 'lead')),
    item_id   bigint NOT NULL,
    tenant_id text NOT NULL,
    by_user   text NOT NULL,
    at        timestamptz NOT NULL,
    PRIMARY KEY (kind, item_id)
);
