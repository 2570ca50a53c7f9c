-- name: dialer/next-task
-- The interviewer's next task, in one statement and one round trip: the
-- task they hold, else (when $5, the wave's calling hours, says calling is
-- open) the first of the queue, leased to them for $3. The queue is a few
-- probes, each an index range that stops at the first eligible row, so
-- that handing out a case does not sort the whole wave: due appointments
-- first, then verification call-backs, conversions of soft refusals (for
-- refusal converters), retries that are due, and fresh cases of open
-- replicates. Each probe runs only when everything before it found nothing:
-- its gate is a one-time filter, checked before its index is read. SKIP
-- LOCKED lets concurrent interviewers pass each other's candidates instead
-- of queueing on them, and the row lock makes the lease exclusive.
-- Door-to-door cases belong to field lists, not to the telephone queue.
-- A lease need not outlive a crash of the database (the case is then not
-- held, and no one records on a case without holding it), so its commit
-- does not wait for the disk, where it would queue behind the log of
-- whatever else is being written: a draw of a hundred thousand cases, say.
WITH lease_commit AS (
    SELECT set_config('synchronous_commit', 'off', true) AS setting
),
held AS (
    SELECT kind, id FROM (
        (SELECT 'case' AS kind, id FROM cases
         WHERE wave_id = $1 AND held_by = $2 AND status <> 'final' AND held_until > now() ORDER BY id LIMIT 1)
        UNION ALL
        (SELECT 'verification', id FROM verification_calls
         WHERE wave_id = $1 AND held_by = $2 AND status = 'open' AND held_until > now() ORDER BY id LIMIT 1)
    ) t LIMIT 1
),
-- An appointment is hard: it waits for the interviewer who made it until
-- $4 after its time; after that it is missed and goes to anyone, and being
-- the oldest it comes first.
appointment AS (
    SELECT id FROM cases
    WHERE $5 AND NOT EXISTS (SELECT 1 FROM held)
      AND wave_id = $1 AND status = 'appointment' AND mode = 'phone' AND next_at <= now()
      AND (appointment_by IS NULL OR appointment_by = $2 OR next_at <= now() - $4::interval)
      AND (NOT converter_only OR EXISTS (SELECT 1 FROM users WHERE id = $2 AND refusal_converter))
      AND (held_by IS NULL OR held_until < now())
    ORDER BY next_at, id LIMIT 1
    FOR UPDATE SKIP LOCKED
),
-- A verification call-back goes to anyone but the interviewer verified.
verification AS (
    SELECT id FROM verification_calls
    WHERE $5 AND NOT EXISTS (SELECT 1 FROM held UNION ALL SELECT 1 FROM appointment)
      AND wave_id = $1 AND status = 'open' AND next_at <= now() AND interviewer_id <> $2
      AND (held_by IS NULL OR held_until < now())
    ORDER BY next_at, id LIMIT 1
    FOR UPDATE SKIP LOCKED
),
-- Soft refusals are called back only by refusal converters; for anyone
-- else the probe is a one-time false filter and reads nothing.
conversion AS (
    SELECT id FROM cases
    WHERE $5 AND NOT EXISTS (SELECT 1 FROM held UNION ALL SELECT 1 FROM appointment UNION ALL SELECT 1 FROM verification)
      AND EXISTS (SELECT 1 FROM users WHERE id = $2 AND refusal_converter)
      AND wave_id = $1 AND status = 'pending' AND mode = 'phone' AND converter_only AND next_at <= now()
      AND (held_by IS NULL OR held_until < now())
    ORDER BY next_at, id LIMIT 1
    FOR UPDATE SKIP LOCKED
),
retry AS (
    SELECT id FROM cases
    WHERE $5 AND NOT EXISTS (SELECT 1 FROM held UNION ALL SELECT 1 FROM appointment UNION ALL SELECT 1 FROM verification
                             UNION ALL SELECT 1 FROM conversion)
      AND wave_id = $1 AND status = 'pending' AND mode = 'phone' AND NOT converter_only AND next_at <= now()
      AND (held_by IS NULL OR held_until < now())
    ORDER BY next_at, id LIMIT 1
    FOR UPDATE SKIP LOCKED
),
-- Only cases of open replicates are handed out, so that the sample is
-- worked one replicate at a time (docs/statistics.md §3). The first few
-- fresh cases of each open replicate are the candidates; among those of the
-- highest priority one is taken at random, which spreads interviewers over
-- the districts and keeps them from all reaching for the same row. A
-- district whose quota is full hands out nothing more.
fresh_candidates AS (
    SELECT c.id FROM replicates r
    CROSS JOIN LATERAL (
        SELECT id FROM cases
        WHERE wave_id = r.wave_id AND stratum = r.district_code AND replicate = r.number
          AND status = 'fresh' AND mode = 'phone' AND (held_by IS NULL OR held_until < now())
        ORDER BY priority DESC, id LIMIT 8) c
    WHERE $5 AND NOT EXISTS (SELECT 1 FROM held UNION ALL SELECT 1 FROM appointment UNION ALL SELECT 1 FROM verification
                             UNION ALL SELECT 1 FROM conversion UNION ALL SELECT 1 FROM retry)
      AND r.wave_id = $1 AND r.opened_at IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM quota_cells q
                      WHERE q.wave_id = r.wave_id AND q.district_code = r.district_code
                        AND q.sex = 0 AND q.age_group = 0 AND q.completes >= q.target)
),
fresh AS (
    SELECT id FROM cases
    WHERE id IN (SELECT id FROM fresh_candidates) AND status = 'fresh'
      AND (held_by IS NULL OR held_until < now())
    ORDER BY priority DESC, random() LIMIT 1
    FOR UPDATE SKIP LOCKED
),
-- At most one of the probes found a row, and it is locked: lease it.
leased_case AS (
    UPDATE cases SET held_by = $2, held_until = now() + $3::interval, updated_at = now()
    WHERE id = (SELECT id FROM appointment UNION ALL SELECT id FROM conversion UNION ALL SELECT id FROM retry
                UNION ALL SELECT id FROM fresh LIMIT 1)
    RETURNING id
),
leased_verification AS (
    UPDATE verification_calls SET held_by = $2, held_until = now() + $3::interval, updated_at = now()
    WHERE id = (SELECT id FROM verification)
    RETURNING id
)
SELECT kind, id FROM (
    SELECT kind, id FROM held
    UNION ALL SELECT 'case', id FROM leased_case
    UNION ALL SELECT 'verification', id FROM leased_verification
) t
WHERE (SELECT setting FROM lease_commit) = 'off'

-- name: dialer/get-case
SELECT c.id, c.wave_id, w.name AS wave_name, coalesce(c.district_code, '') AS district_code, coalesce(d.name, '') AS district_name,
       c.mode, coalesce(c.phone, '') AS phone, c.status, coalesce(c.final_code, '') AS final_code, c.attempts,
       c.next_at, c.held_by, c.held_until, w.questionnaire_id
FROM cases c JOIN waves w ON w.id = c.wave_id LEFT JOIN districts d ON d.code = c.district_code
WHERE c.id = $1

-- name: dialer/lock-held-case
SELECT c.id, c.attempts, c.wave_id, w.questionnaire_id, c.mode, coalesce(c.psu, '') AS psu, coalesce(c.district_code, '') AS district_code,
       coalesce(c.phone, '') AS phone, c.converter_only, c.dayparts_tried, coalesce(c.reached_code, '') AS reached_code,
       w.calling_from, w.calling_to, w.calling_days, w.appointment_grace, w.max_attempts,
       w.retry_busy, w.retry_no_answer, w.retry_soft_refusal, w.verify_share, w.quota_by_sex_age,
       EXISTS (SELECT 1 FROM quota_cells q
               WHERE q.wave_id = c.wave_id AND q.district_code = c.district_code
                 AND q.sex = 0 AND q.age_group = 0 AND q.completes >= q.target) AS quota_full
FROM cases c JOIN waves w ON w.id = c.wave_id
WHERE c.id = $1 AND c.held_by = $2 AND c.status <> 'final'
FOR UPDATE OF c

-- name: dialer/record-attempt
-- One statement records the attempt and moves the case on, so that saving
-- costs one round trip fewer. The attempt codes the call $14, or else the
-- case's latest answered call that no attempt codes yet (the interviewer
-- codes what happened on the call Minyi placed).
WITH attempt AS (
    INSERT INTO attempts (case_id, interviewer_id, outcome, aapor_code, final, appointment_at, call_id)
    VALUES ($1, $2, $3, $4, $5, $6,
            coalesce($14::bigint, (SELECT k.id FROM calls k
                                   WHERE k.case_id = $1 AND k.answered_at IS NOT NULL
                                     AND NOT EXISTS (SELECT 1 FROM attempts x WHERE x.call_id = k.id)
                                   ORDER BY k.id DESC LIMIT 1)))
)
UPDATE cases SET attempts = attempts + 1, status = $7, final_code = $8, next_at = $9,
       appointment_by = $10, converter_only = $11, dayparts_tried = $12, reached_code = $13,
       held_by = NULL, held_until = NULL, updated_at = now()
WHERE id = $1

-- name: dialer/case-attempts
SELECT a.outcome, a.aapor_code, a.final, a.appointment_at, a.created_at, u.username,
       coalesce(k.sip_code, 0) AS sip_code, coalesce(k.ring_ms, 0) AS ring_ms, coalesce(k.talk_ms, 0) AS talk_ms,
       coalesce(k.hangup_by, '') AS hangup_by
FROM attempts a JOIN users u ON u.id = a.interviewer_id LEFT JOIN calls k ON k.id = a.call_id
WHERE a.case_id = $1 ORDER BY a.id

-- name: dialer/wave-progress
SELECT coalesce(c.district_code, '') AS district_code, count(*) AS cases,
       count(*) FILTER (WHERE c.status = 'final') AS final,
       count(*) FILTER (WHERE c.final_code = '1.1') AS completes
FROM cases c WHERE c.wave_id = $1 GROUP BY 1 ORDER BY 1

-- name: dialer/interview-of-case
SELECT id FROM interviews WHERE case_id = $1 AND (interviewer_id = $2 OR idempotency_key = $3)

-- name: dialer/dispositions
-- Each case's disposition: its final code, or for a case still being worked
-- the 2.x code of its contacts if it was reached, else the code of its last
-- attempt, or 3.11 (not yet attempted). A completed interview counts in the
-- district the respondent named at screening.
SELECT c.id AS case_id, coalesce(i.district_code, c.district_code, '') AS district_code, c.mode, c.attempts,
       coalesce(c.final_code, c.reached_code,
                (SELECT a.aapor_code FROM attempts a WHERE a.case_id = c.id ORDER BY a.id DESC LIMIT 1),
                '3.11') AS code
FROM cases c LEFT JOIN interviews i ON i.case_id = c.id
WHERE c.wave_id = $1
ORDER BY c.id

-- name: dialer/get-rules
SELECT calling_from, calling_to, calling_days, appointment_grace, max_attempts,
       retry_busy, retry_no_answer, retry_soft_refusal, verify_share, quota_by_sex_age
FROM waves WHERE id = $1

-- name: dialer/set-rules
UPDATE waves SET calling_from = $2, calling_to = $3, calling_days = $4, appointment_grace = $5, max_attempts = $6,
       retry_busy = $7, retry_no_answer = $8, retry_soft_refusal = $9, verify_share = $10, quota_by_sex_age = $11
WHERE id = $1

-- name: dialer/held-task
-- The task an interviewer holds in a wave, a case or a verification call.
SELECT kind, id FROM (
    (SELECT 'case' AS kind, id FROM cases
     WHERE wave_id = $1 AND held_by = $2 AND status <> 'final' AND held_until > now() ORDER BY id LIMIT 1)
    UNION ALL
    (SELECT 'verification', id FROM verification_calls
     WHERE wave_id = $1 AND held_by = $2 AND status = 'open' AND held_until > now() ORDER BY id LIMIT 1)
) t LIMIT 1

-- name: dialer/count-quota
-- Counts an interview in its quota cells, its district and its sex × age
-- group, each under its row lock (taken in one order, district first, so
-- that saves never deadlock); the counts returned say whether it passed a
-- target. One statement, so that the usual save pays one round trip, and
-- the last of the save, so that the lock is held only until its commit.
UPDATE quota_cells SET completes = completes + 1
WHERE wave_id = $1 AND district_code = $2 AND ((sex = 0 AND age_group = 0) OR (sex = $3 AND age_group = $4))
RETURNING sex, completes, target

-- name: dialer/ensure-quota
-- A district's quota cells, made when its first interview is saved: the
-- district's telephone target from the allocation (none without one) and,
-- when the wave asks for it, a target per sex × age group in the census
-- shares of the district (the product of the two margins, rounded up so
-- that the cells never hold the district under its target).
INSERT INTO quota_cells (wave_id, district_code, sex, age_group, target)
SELECT $1::bigint, $2::text, 0, 0, (SELECT greatest(a.target - a.door_target, 0) FROM allocations a WHERE a.wave_id = $1 AND a.district_code = $2)
UNION ALL
SELECT a.wave_id, a.district_code, s.category, g.category,
       ceil(greatest(a.target - a.door_target, 0) * (s.population::float8 / st.total) * (g.population::float8 / gt.total))::int
FROM allocations a
JOIN waves w ON w.id = a.wave_id AND w.quota_by_sex_age
JOIN margins s ON s.district_code = a.district_code AND s.variable = 'sex'
JOIN margins g ON g.district_code = a.district_code AND g.variable = 'age_group'
CROSS JOIN LATERAL (SELECT sum(population) AS total FROM margins WHERE district_code = a.district_code AND variable = 'sex') st
CROSS JOIN LATERAL (SELECT sum(population) AS total FROM margins WHERE district_code = a.district_code AND variable = 'age_group') gt
WHERE a.wave_id = $1 AND a.district_code = $2 AND st.total > 0 AND gt.total > 0
ON CONFLICT DO NOTHING

-- name: dialer/close-district
-- A district whose quota is full: its remaining telephone cases end as
-- 4.80 (quota filled). A case someone is calling right now is skipped; it
-- ends as 4.80 when its outcome is recorded.
WITH closed AS (
    UPDATE cases SET status = 'final', final_code = '4.80', next_at = NULL, held_by = NULL, held_until = NULL, updated_at = now()
    WHERE id IN (SELECT id FROM cases
                 WHERE wave_id = $1 AND stratum = $2 AND mode = 'phone' AND status <> 'final'
                   AND (held_by IS NULL OR held_until < now())
                 FOR UPDATE SKIP LOCKED)
    RETURNING 1
)
SELECT count(*) FROM closed

-- name: dialer/sample-verification
-- Counts the interviewer's complete and, when it is one of the share to
-- verify, makes its verification call-back.
WITH c AS (
    INSERT INTO verification_counters (wave_id, interviewer_id, completes, start) VALUES ($1, $2, 1, random())
    ON CONFLICT (wave_id, interviewer_id) DO UPDATE SET completes = verification_counters.completes + 1
    RETURNING completes, start
)
INSERT INTO verification_calls (wave_id, interview_id, case_id, interviewer_id, phone, next_at)
SELECT $1, $3, $4, $2, $5, now() + $6::interval FROM c JOIN waves w ON w.id = $1
WHERE floor(c.completes * w.verify_share + c.start) > floor((c.completes - 1) * w.verify_share + c.start)

-- name: dialer/get-verification
SELECT v.id, v.wave_id, v.interview_id, v.case_id, v.phone, v.status, coalesce(v.result, '') AS result, v.attempts,
       v.next_at, v.held_by, v.held_until, u.username AS interviewer, i.completed_at, i.district_code
FROM verification_calls v JOIN users u ON u.id = v.interviewer_id JOIN interviews i ON i.id = v.interview_id
WHERE v.id = $1

-- name: dialer/record-verification
-- Only the interviewer holding an open call-back can record on it.
UPDATE verification_calls
SET attempts = attempts + 1, status = $3, result = $4, next_at = coalesce($5, next_at), note = $6,
    verified_by = CASE WHEN $3 = 'done' THEN $2::bigint END, held_by = NULL, held_until = NULL, updated_at = now()
WHERE id = $1 AND held_by = $2 AND status = 'open' AND held_until > now()
RETURNING id

-- name: dialer/verifications
SELECT v.id, v.interview_id, v.case_id, u.username AS interviewer, v.status, coalesce(v.result, '') AS result, v.attempts,
       v.next_at, coalesce(vb.username, '') AS verified_by, v.note, v.updated_at
FROM verification_calls v JOIN users u ON u.id = v.interviewer_id LEFT JOIN users vb ON vb.id = v.verified_by
WHERE v.wave_id = $1
ORDER BY v.status DESC, v.next_at, v.id
