-- name: dialer/held-case
SELECT id FROM cases WHERE wave_id = $1 AND held_by = $2 AND status <> 'final' AND held_until > now()
ORDER BY id LIMIT 1

-- name: dialer/next-case
-- Appointments that are due come first, then fresh and retry cases by
-- priority. SKIP LOCKED lets concurrent interviewers pass each other's
-- candidates instead of queueing on them, and the row lock makes the lease
-- exclusive. Only cases of open replicates are handed out, so that the
-- sample is worked one replicate at a time (STATISTICS.md §3); a case stays
-- in its replicate for good, so once handed out it keeps being served.
-- Door-to-door cases belong to field lists, not to the telephone queue.
WITH c AS (
    SELECT id FROM cases
    WHERE wave_id = $1 AND status <> 'final' AND mode = 'phone'
      AND (held_by IS NULL OR held_until < now())
      AND (next_at IS NULL OR next_at <= now())
      AND EXISTS (SELECT 1 FROM replicates r
                  WHERE r.wave_id = cases.wave_id AND r.district_code = cases.stratum
                    AND r.number = cases.replicate AND r.opened_at IS NOT NULL)
    ORDER BY (status = 'appointment') DESC, priority DESC, next_at NULLS LAST, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
UPDATE cases SET held_by = $2, held_until = now() + $3::interval, updated_at = now()
FROM c WHERE cases.id = c.id
RETURNING cases.id

-- name: dialer/get-case
SELECT c.id, c.wave_id, w.name AS wave_name, coalesce(c.district_code, '') AS district_code, coalesce(d.name, '') AS district_name,
       c.mode, coalesce(c.phone, '') AS phone, c.status, coalesce(c.final_code, '') AS final_code, c.attempts,
       c.next_at, c.held_by, c.held_until, w.questionnaire_id
FROM cases c JOIN waves w ON w.id = c.wave_id LEFT JOIN districts d ON d.code = c.district_code
WHERE c.id = $1

-- name: dialer/lock-held-case
SELECT c.id, c.attempts, c.wave_id, w.questionnaire_id
FROM cases c JOIN waves w ON w.id = c.wave_id
WHERE c.id = $1 AND c.held_by = $2 AND c.status <> 'final'
FOR UPDATE OF c

-- name: dialer/record-attempt
-- One statement records the attempt and moves the case on, so that saving
-- costs one round trip fewer.
WITH attempt AS (
    INSERT INTO attempts (case_id, interviewer_id, outcome, aapor_code, final, appointment_at)
    VALUES ($1, $2, $3, $4, $5, $6)
)
UPDATE cases SET attempts = attempts + 1, status = $7, final_code = $8, next_at = $9,
       held_by = NULL, held_until = NULL, updated_at = now()
WHERE id = $1

-- name: dialer/case-attempts
SELECT a.outcome, a.aapor_code, a.final, a.appointment_at, a.created_at, u.username
FROM attempts a JOIN users u ON u.id = a.interviewer_id WHERE a.case_id = $1 ORDER BY a.id

-- name: dialer/wave-progress
SELECT coalesce(c.district_code, '') AS district_code, count(*) AS cases,
       count(*) FILTER (WHERE c.status = 'final') AS final,
       count(*) FILTER (WHERE c.final_code = '1.1') AS completes
FROM cases c WHERE c.wave_id = $1 GROUP BY 1 ORDER BY 1

-- name: dialer/interview-of-case
SELECT id FROM interviews WHERE case_id = $1 AND (interviewer_id = $2 OR idempotency_key = $3)
