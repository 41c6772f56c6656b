-- Permanence store, version 8: the call summary for the business (agi.booking.call_summary).
--
-- Never edit once released (see 0001_initial.sql).

-- One outbox row per target for a call that ended in a message, a call-back request, a
-- transfer, a noted or failed booking or a hang-up in the middle of a request (SQLite:
-- call_summary.SQLITE_MIGRATION).
ALTER TABLE outbox
    DROP CONSTRAINT outbox_kind_check,
    ADD CONSTRAINT outbox_kind_check CHECK (kind IN ('appointment_booked', 'appointment_moved',
        'appointment_cancelled', 'message', 'lead', 'erasure', 'call_summary'));
