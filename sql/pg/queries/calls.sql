-- name: calls/start
-- A call is placed only on a case its interviewer holds now.
INSERT INTO calls (case_id, interviewer_id)
SELECT id, $2 FROM cases WHERE id = $1 AND held_by = $2 AND held_until > now() AND status <> 'final'
RETURNING id

-- name: calls/answered
UPDATE calls SET state = 'talking', answered_at = now() WHERE id = $1 AND state = 'ringing'

-- name: calls/end
UPDATE calls SET state = 'ended', ended_at = now(), sip_code = $2, ring_ms = $3, talk_ms = $4, hangup_by = $5, error = $6
WHERE id = $1 AND state <> 'ended'
RETURNING case_id, interviewer_id

-- name: calls/get
SELECT c.id, coalesce(c.case_id, 0) AS case_id, coalesce(c.interviewer_id, 0) AS interviewer_id, c.state, c.started_at, c.answered_at, c.ended_at,
       coalesce(c.sip_code, 0) AS sip_code, coalesce(c.ring_ms, 0) AS ring_ms, coalesce(c.talk_ms, 0) AS talk_ms,
       coalesce(c.hangup_by, '') AS hangup_by, c.interrupted, coalesce(c.consent, '') AS consent, c.error,
       coalesce(a.outcome, '') AS outcome, coalesce(a.aapor_code, '') AS aapor_code
FROM calls c LEFT JOIN attempts a ON a.call_id = c.id
WHERE c.id = $1

-- name: calls/latest-of-case
SELECT id FROM calls WHERE case_id = $1 AND interviewer_id = $2 ORDER BY id DESC LIMIT 1

-- name: calls/consent
UPDATE calls SET consent = $3 WHERE id = $1 AND interviewer_id = $2 AND answered_at IS NOT NULL
RETURNING case_id

-- name: calls/open
-- Calls a stopped server left ringing or talking, with their recordings.
SELECT c.id, coalesce(c.case_id, 0) AS case_id, c.answered_at, coalesce(r.path, '') AS path
FROM calls c LEFT JOIN recordings r ON r.call_id = c.id
WHERE c.state <> 'ended'
ORDER BY c.id
FOR UPDATE OF c SKIP LOCKED

-- name: calls/interrupt
UPDATE calls SET state = 'ended', ended_at = now(), interrupted = true, hangup_by = 'minyi',
       ring_ms = CASE WHEN answered_at IS NULL THEN (extract(epoch FROM now() - started_at) * 1000)::int
                      ELSE (extract(epoch FROM answered_at - started_at) * 1000)::int END,
       talk_ms = CASE WHEN answered_at IS NULL THEN NULL ELSE (extract(epoch FROM now() - answered_at) * 1000)::int END,
       error = 'interrupted'
WHERE id = $1

-- name: calls/live
-- The calls of a wave now ringing or talking, for the live view.
SELECT c.id, c.case_id, u.username AS interviewer, c.state, c.started_at, c.answered_at,
       coalesce(k.district_code, '') AS district_code
FROM calls c JOIN cases k ON k.id = c.case_id JOIN users u ON u.id = c.interviewer_id
WHERE k.wave_id = $1 AND c.state <> 'ended'
ORDER BY c.id

-- name: calls/policy
-- Whether a case's wave records its calls, and for how many days (NULL:
-- the server's setting).
SELECT w.record_calls, w.recording_retention_days
FROM cases c JOIN waves w ON w.id = c.wave_id WHERE c.id = $1

-- name: calls/of-case
SELECT c.id, coalesce(c.case_id, 0) AS case_id, coalesce(c.interviewer_id, 0) AS interviewer_id, c.state, c.started_at, c.answered_at, c.ended_at,
       coalesce(c.sip_code, 0) AS sip_code, coalesce(c.ring_ms, 0) AS ring_ms, coalesce(c.talk_ms, 0) AS talk_ms,
       coalesce(c.hangup_by, '') AS hangup_by, c.interrupted, coalesce(c.consent, '') AS consent, c.error,
       coalesce(a.outcome, '') AS outcome, coalesce(a.aapor_code, '') AS aapor_code
FROM calls c LEFT JOIN attempts a ON a.call_id = c.id
WHERE c.case_id = $1
ORDER BY c.id

-- name: recordings/start
INSERT INTO recordings (call_id, path, codec, delete_after)
VALUES ($1, $2, $3, now() + make_interval(days => $4))

-- name: recordings/finish
UPDATE recordings SET bytes = $2, seconds = $3, sha256 = $4 WHERE call_id = $1 AND sha256 IS NULL
RETURNING id

-- name: recordings/get
SELECT r.id, r.call_id, coalesce(c.case_id, 0) AS case_id, r.path, r.codec, coalesce(r.bytes, 0) AS bytes,
       coalesce(r.seconds, 0) AS seconds, coalesce(r.sha256, '') AS sha256, r.created_at, r.delete_after, r.deleted_at,
       coalesce(c.consent, '') AS consent, coalesce(u.username, '') AS interviewer
FROM recordings r JOIN calls c ON c.id = r.call_id LEFT JOIN users u ON u.id = c.interviewer_id
WHERE r.id = $1

-- name: recordings/of-interview
SELECT r.id, r.call_id, coalesce(c.case_id, 0) AS case_id, r.path, r.codec, coalesce(r.bytes, 0) AS bytes,
       coalesce(r.seconds, 0) AS seconds, coalesce(r.sha256, '') AS sha256, r.created_at, r.delete_after, r.deleted_at,
       coalesce(c.consent, '') AS consent, coalesce(u.username, '') AS interviewer
FROM interviews i JOIN calls c ON c.case_id = i.case_id JOIN recordings r ON r.call_id = c.id
LEFT JOIN users u ON u.id = c.interviewer_id
WHERE i.id = $1
ORDER BY r.id

-- name: recordings/due
-- Recordings past their retention, each taken by one server.
SELECT r.id, r.call_id, r.path, coalesce(r.sha256, '') AS sha256
FROM recordings r
WHERE r.deleted_at IS NULL AND r.delete_after <= $1
ORDER BY r.delete_after
LIMIT 100
FOR UPDATE SKIP LOCKED

-- name: recordings/mark-deleted
UPDATE recordings SET deleted_at = now() WHERE id = $1

-- name: recordings/wave-settings
SELECT id AS wave_id, name, record_calls, recording_retention_days FROM waves ORDER BY id DESC

-- name: recordings/set-wave
UPDATE waves SET record_calls = $2, recording_retention_days = $3 WHERE id = $1 RETURNING name
