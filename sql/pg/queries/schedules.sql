-- name: schedules/upsert
INSERT INTO wave_schedules (name, spec, rate, min_per_district, expected_rate, modes, enabled, title)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (name) DO UPDATE SET title = excluded.title, spec = excluded.spec, rate = excluded.rate,
    min_per_district = excluded.min_per_district, expected_rate = excluded.expected_rate,
    modes = excluded.modes, enabled = excluded.enabled, updated_at = now()
RETURNING id

-- name: schedules/list
SELECT id, name, title, spec, rate, min_per_district, expected_rate, modes, enabled, created_at, updated_at
FROM wave_schedules ORDER BY name

-- name: schedules/get
SELECT id, name, title, spec, rate, min_per_district, expected_rate, modes, enabled, created_at, updated_at
FROM wave_schedules WHERE id = $1

-- name: schedules/claim-run
-- The unique (schedule, time) key lets exactly one server claim a run.
INSERT INTO schedule_runs (schedule_id, scheduled_for, status) VALUES ($1, $2, 'running')
ON CONFLICT (schedule_id, scheduled_for) DO NOTHING
RETURNING id

-- name: schedules/finish-run
UPDATE schedule_runs SET status = $2, wave_name = $3, error = $4, finished_at = now() WHERE id = $1

-- name: schedules/record-missed-run
INSERT INTO schedule_runs (schedule_id, scheduled_for, status, error, finished_at)
VALUES ($1, $2, 'missed', $3, now())
ON CONFLICT (schedule_id, scheduled_for) DO NOTHING

-- name: schedules/last-run
SELECT max(scheduled_for) FROM schedule_runs WHERE schedule_id = $1

-- name: schedules/interrupt-stale-runs
-- A run still 'running' long after it started belonged to a server that
-- died; say so instead of leaving it running for ever.
UPDATE schedule_runs SET status = 'failed', error = $1, finished_at = now()
WHERE status = 'running' AND started_at < now() - interval '1 hour'

-- name: schedules/list-runs
SELECT r.id, s.name AS schedule, s.title AS schedule_title, r.scheduled_for, r.status, coalesce(r.wave_name, '') AS wave_name,
       coalesce(r.error, '') AS error, r.started_at, r.finished_at
FROM schedule_runs r JOIN wave_schedules s ON s.id = r.schedule_id
ORDER BY r.scheduled_for DESC, r.id DESC LIMIT $1
