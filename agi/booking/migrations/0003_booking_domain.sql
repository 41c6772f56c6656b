-- Permanence store, version 3: service buffers, moved appointments, callers, leads.
--
-- Never edit once released (see 0001_initial.sql).

-- An appointment keeps its resource blocked until blocked_until = ends_at + the service's
-- buffer (cleaning, notes). The no-overlap constraint now compares blocked ranges, so a
-- booking can neither start inside another one's buffer nor let its own buffer run into
-- the next appointment, whatever the number of writers.
ALTER TABLE appointments ADD COLUMN blocked_until timestamptz;
UPDATE appointments SET blocked_until = ends_at;
ALTER TABLE appointments
    ALTER COLUMN blocked_until SET NOT NULL,
    ADD CONSTRAINT appointments_blocked_after_end CHECK (blocked_until >= ends_at),
    -- 0 when booked, +1 at each move and at the cancellation: the iCalendar SEQUENCE, and
    -- what makes the outbox key of each move unique
    ADD COLUMN revision integer NOT NULL DEFAULT 0,
    ADD COLUMN moved_by_call text REFERENCES calls (call_id) ON DELETE SET NULL,
    DROP CONSTRAINT appointments_no_overlap,
    ADD CONSTRAINT appointments_no_overlap EXCLUDE USING gist (
        tenant_id WITH =,
        resource WITH =,
        tstzrange(starts_at, blocked_until, '[)') WITH &&
    ) WHERE (status <> 'cancelled');

-- Another program writing appointments (the business's own software) need not know of
-- buffers: a row inserted without blocked_until blocks exactly its own time.
CREATE FUNCTION appointments_default_blocked_until() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.blocked_until := COALESCE(NEW.blocked_until, NEW.ends_at);
    RETURN NEW;
END
$$;
CREATE TRIGGER appointments_default_blocked_until BEFORE INSERT ON appointments
    FOR EACH ROW EXECUTE FUNCTION appointments_default_blocked_until();

ALTER TABLE outbox
    DROP CONSTRAINT outbox_kind_check,
    ADD CONSTRAINT outbox_kind_check CHECK (kind IN ('appointment_booked', 'appointment_moved',
        'appointment_cancelled', 'message', 'lead'));

-- Numbers that called (E.164 only), per tenant: how often and when, and the name given.
CREATE TABLE callers (
    tenant_id  text NOT NULL,
    phone      text NOT NULL,
    name       text NOT NULL DEFAULT '',
    first_seen timestamptz NOT NULL,
    last_seen  timestamptz NOT NULL,
    calls      integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, phone)
);

-- Requests that are not appointments: a quote, a call-back about a product...
CREATE TABLE leads (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id  text NOT NULL,
    call_id    text REFERENCES calls (call_id) ON DELETE SET NULL,
    caller     text NOT NULL DEFAULT '',
    kind       text NOT NULL CHECK (kind <> ''),
    details    jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL
);
CREATE INDEX leads_tenant ON leads (tenant_id, created_at);
