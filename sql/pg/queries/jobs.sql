-- name: sampler/start-job
INSERT INTO jobs (kind, subject, total, message, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING id

-- name: sampler/progress-job
UPDATE jobs SET done = $2, total = $3, message = $4 WHERE id = $1 AND status = 'running'

-- name: sampler/finish-job
UPDATE jobs SET status = $2, error = $3, message = $4, done = CASE WHEN $2 = 'ok' THEN total ELSE done END, finished_at = now()
WHERE id = $1

-- name: sampler/get-job
SELECT id, kind, subject, status, done, total, message, coalesce(error, '') AS error, started_at, finished_at
FROM jobs WHERE id = $1
