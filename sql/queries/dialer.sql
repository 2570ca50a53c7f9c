-- name: dialer/held-case
SELECT id FROM cases WHERE wave_id = $1 AND held_by = $2 AND status <> 'final' AND held_until > now()
ORDER BY id LIMIT 1

-- name: dialer/next-appointment
-- The queue is three probes, each an index range that stops at the first
-- eligible case, so that handing out a case does not sort the whole wave:
-- due appointments first, then retries that are due, then fresh cases of
-- open replicates. SKIP LOCKED lets concurrent interviewers pass each
-- other's candidates instead of queueing on them, and the row lock makes
-- the lease exclusive. Door-to-door cases belong to field lists, not to the
-- telephone queue.
UPDATE cases SET held_by = $2, held_until = now() + $3::interval, updated_at = now()
WHERE id = (SELECT id FROM cases
            WHERE wave_id = $1 AND status = 'appointment' AND mode = 'phone' AND next_at <= now()
              AND (held_by IS NULL OR held_until < now())
            ORDER BY next_at, id LIMIT 1
            FOR UPDATE SKIP LOCKED)
RETURNING id

-- name: dialer/next-retry
UPDATE cases SET held_by = $2, held_until = now() + $3::interval, updated_at = now()
WHERE id = (SELECT id FROM cases
            WHERE wave_id = $1 AND status = 'pending' AND mode = 'phone' AND next_at <= now()
              AND (held_by IS NULL OR held_until < now())
            ORDER BY next_at, id LIMIT 1
            FOR UPDATE SKIP LOCKED)
RETURNING id

-- name: dialer/next-fresh
-- Only cases of open replicates are handed out, so that the sample is
-- worked one replicate at a time (STATISTICS.md §3). The first few fresh
-- cases of each open replicate are the candidates; among those of the
-- highest priority one is taken at random, which spreads interviewers over
-- the districts and keeps them from all reaching for the same row.
WITH candidates AS (
    SELECT c.id FROM replicates r
    CROSS JOIN LATERAL (
        SELECT id FROM cases
        WHERE wave_id = r.wave_id AND stratum = r.district_code AND replicate = r.number
          AND status = 'fresh' AND mode = 'phone' AND (held_by IS NULL OR held_until < now())
        ORDER BY priority DESC, id LIMIT 8) c
    WHERE r.wave_id = $1 AND r.opened_at IS NOT NULL
)
UPDATE cases SET held_by = $2, held_until = now() + $3::interval, updated_at = now()
WHERE id = (SELECT id FROM cases
            WHERE id IN (SELECT id FROM candidates) AND status = 'fresh'
              AND (held_by IS NULL OR held_until < now())
            ORDER BY priority DESC, random() LIMIT 1
            FOR UPDATE SKIP LOCKED)
RETURNING id

-- name: dialer/get-case
SELECT c.id, c.wave_id, w.name AS wave_name, coalesce(c.district_code, '') AS district_code, coalesce(d.name, '') AS district_name,
       c.mode, coalesce(c.phone, '') AS phone, c.status, coalesce(c.final_code, '') AS final_code, c.attempts,
       c.next_at, c.held_by, c.held_until, w.questionnaire_id
FROM cases c JOIN waves w ON w.id = c.wave_id LEFT JOIN districts d ON d.code = c.district_code
WHERE c.id = $1

-- name: dialer/lock-held-case
SELECT c.id, c.attempts, c.wave_id, w.questionnaire_id, c.mode, coalesce(c.psu, '') AS psu
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

-- name: dialer/dispositions
-- Each case's disposition: its final code, or for a case still being worked
-- the code of its last attempt, or 3.11 (not yet attempted). A completed
-- interview counts in the district the respondent named at screening.
SELECT c.id AS case_id, coalesce(i.district_code, c.district_code, '') AS district_code, c.mode, c.attempts,
       coalesce(c.final_code,
                (SELECT a.aapor_code FROM attempts a WHERE a.case_id = c.id ORDER BY a.id DESC LIMIT 1),
                '3.11') AS code
FROM cases c LEFT JOIN interviews i ON i.case_id = c.id
WHERE c.wave_id = $1
ORDER BY c.id
