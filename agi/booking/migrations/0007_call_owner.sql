-- Permanence store, version 7: which controller took each call (issue #9, agi.booking.recovery).
--
-- Never edit once released (see 0001_initial.sql).

-- Several controllers may share this database. At start-up a controller closes, as
-- 'interrupted', the calls a crash left open, but only its own: another controller's open
-- call may be live. Calls written before this version have no owner and are left alone.
ALTER TABLE calls ADD COLUMN owner text NOT NULL DEFAULT '';
-- start-up asks for one owner's open calls: only open calls are indexed
CREATE INDEX calls_open_by_owner ON calls (owner, started_at) WHERE ended_at IS NULL;
