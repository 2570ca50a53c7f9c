-- Indexes for the three probes of the telephone queue (due appointments,
-- due retries, fresh cases of open replicates), each an index range that
-- stops at the first eligible case. The old queue index served a query that
-- sorted the whole wave on every request.
DROP INDEX IF EXISTS cases_queue;
CREATE INDEX cases_due_appointments ON cases (wave_id, next_at, id) WHERE status = 'appointment' AND mode = 'phone';
CREATE INDEX cases_due_retries ON cases (wave_id, next_at, id) WHERE status = 'pending' AND mode = 'phone';
CREATE INDEX cases_fresh ON cases (wave_id, stratum, replicate, priority DESC, id) WHERE status = 'fresh' AND mode = 'phone';
