-- name: survey/weight-cells
-- A wave's interviews grouped by what the weighting rules look at, for the
-- microdata export's weights (the categories as stored, '' when absent);
-- interviews found invalid in review are left out, as by the estimator.
SELECT district_code, coalesce(answers->>'sex', '') AS sex, coalesce(answers->>'age_group', '') AS age_group,
       coalesce(answers->>'urban', '') AS urban,
       count(*) FILTER (WHERE weight IS NULL) AS computed, count(*) AS all_n
FROM interviews WHERE wave_id = $1 AND review_status <> 'invalid'
GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4

-- name: exports/upsert-schedule
INSERT INTO export_schedules (name, wave_id, kinds, spec, encoding, min_cell, enabled, title)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (name) DO UPDATE SET title = excluded.title, wave_id = excluded.wave_id, kinds = excluded.kinds, spec = excluded.spec,
    encoding = excluded.encoding, min_cell = excluded.min_cell, enabled = excluded.enabled, updated_at = now()
RETURNING id

-- name: exports/list-schedules
SELECT s.id, s.name, s.title, s.wave_id, w.name AS wave, s.kinds, s.spec, s.encoding, s.min_cell, s.enabled, s.created_at, s.updated_at
FROM export_schedules s JOIN waves w ON w.id = s.wave_id ORDER BY s.name

-- name: exports/get-schedule
SELECT s.id, s.name, s.title, s.wave_id, w.name AS wave, s.kinds, s.spec, s.encoding, s.min_cell, s.enabled, s.created_at, s.updated_at
FROM export_schedules s JOIN waves w ON w.id = s.wave_id WHERE s.id = $1

-- name: exports/claim-run
-- The unique (schedule, time) key lets exactly one server claim a run.
INSERT INTO export_runs (schedule_id, scheduled_for, status) VALUES ($1, $2, 'running')
ON CONFLICT (schedule_id, scheduled_for) DO NOTHING
RETURNING id, attempts

-- name: exports/claim-retry
-- A failed run due for another attempt; the row lock of the UPDATE lets
-- one server claim it, the others find it running.
UPDATE export_runs SET status = 'running', attempts = attempts + 1, started_at = now(),
    finished_at = NULL, next_attempt_at = NULL
WHERE id = $1 AND status = 'failed' AND next_attempt_at IS NOT NULL AND next_attempt_at <= $2
RETURNING id, attempts

-- name: exports/due-retries
SELECT r.id, r.schedule_id, r.scheduled_for FROM export_runs r JOIN export_schedules s ON s.id = r.schedule_id
WHERE r.status = 'failed' AND r.next_attempt_at IS NOT NULL AND r.next_attempt_at <= $1 AND s.enabled
ORDER BY r.next_attempt_at

-- name: exports/finish-run
UPDATE export_runs SET status = $2, directory = $3, files = $4, error = $5, finished_at = now(), next_attempt_at = $6
WHERE id = $1

-- name: exports/interrupt-stale-runs
-- A run still 'running' long after it started belonged to a server that
-- died; it fails and is tried again.
UPDATE export_runs SET status = 'failed', error = $1, finished_at = now(), next_attempt_at = now()
WHERE status = 'running' AND started_at < now() - interval '1 hour'

-- name: exports/list-runs
SELECT r.id, s.name AS schedule, s.title AS schedule_title, w.name AS wave, r.scheduled_for, r.status, r.attempts, coalesce(r.directory, '') AS directory,
       r.files, coalesce(r.error, '') AS error, r.started_at, r.finished_at, r.next_attempt_at
FROM export_runs r JOIN export_schedules s ON s.id = r.schedule_id JOIN waves w ON w.id = s.wave_id
ORDER BY r.scheduled_for DESC, r.id DESC LIMIT $1

-- name: exports/last-run
SELECT max(scheduled_for) FROM export_runs WHERE schedule_id = $1

-- name: exports/secret
SELECT secret FROM export_secret

-- name: exports/call-records
-- Every attempt on a case of a wave, with the call Minyi placed for it if
-- any: never the number called.
SELECT a.case_id, a.created_at, a.interviewer_id, c.mode, a.outcome, a.aapor_code, a.final,
       k.sip_code, k.ring_ms, k.talk_ms, coalesce(k.hangup_by, '') AS hangup_by
FROM attempts a JOIN cases c ON c.id = a.case_id LEFT JOIN calls k ON k.id = a.call_id
WHERE c.wave_id = $1
ORDER BY a.created_at, a.id
