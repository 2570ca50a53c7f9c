-- name: jobs/start
-- The server running the job holds an advisory lock on (class, id) for as
-- long as the job runs, taken here with the insert on the job's connection.
WITH j AS (
    INSERT INTO jobs (kind, subject, total, message, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING id
)
SELECT id FROM j, LATERAL (SELECT pg_advisory_lock($6::int, id::int)) l

-- name: jobs/progress
UPDATE jobs SET done = $2, total = $3, message = $4 WHERE id = $1 AND status = 'running'

-- name: jobs/finish
WITH f AS (
    UPDATE jobs SET status = $2, error = $3, message = $4, done = CASE WHEN $2 = 'ok' THEN total ELSE done END, finished_at = now()
    WHERE id = $1
)
SELECT pg_advisory_unlock($5::int, $1::int)

-- name: jobs/get
SELECT id, kind, subject, status, done, total, message, coalesce(error, '') AS error, started_at, finished_at
FROM jobs WHERE id = $1

-- name: jobs/running
SELECT id FROM jobs WHERE status = 'running' ORDER BY id

-- name: jobs/fail-orphan
-- A running job whose lock can be taken has no server any more: its server
-- stopped without finishing it. The lock is a transaction lock, given back
-- at once.
UPDATE jobs SET status = 'failed', error = $3, finished_at = now()
WHERE id = $1 AND status = 'running' AND pg_try_advisory_xact_lock($2::int, $1::int)
RETURNING true
