-- name: dialer/flagged-page
-- A page of a wave's interviews to review (dialer/flagged-interviews says
-- which and why), narrowed by district ($4), interviewer ($5), completion
-- days [$6, $7), ids up to a snapshot ($8) and one flag ($9), newest first;
-- each row carries the counts of the whole narrowed set, by flag, and its
-- highest id. $10 NULL: every row. The scan reads the covering index
-- interviews_to_review only.
WITH f AS (
    SELECT i.id, i.interviewer_id, i.district_code, i.completed_at,
           coalesce(extract(epoch FROM i.completed_at - i.started_at), 0) AS seconds,
           i.source IN ('cati', 'capi') AND (i.started_at IS NULL OR i.completed_at - i.started_at < $2::interval) AS too_short,
           i.straight_lined,
           EXISTS (SELECT 1 FROM verification_calls v WHERE v.interview_id = i.id AND v.result = 'not_confirmed') AS not_confirmed,
           $3::boolean AND i.source = 'cati' AND i.case_id IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM calls k WHERE k.case_id = i.case_id AND k.answered_at IS NOT NULL) AS no_answered_call,
           i.source = 'import' AS imported,
           i.review_status = 'corrected' AS corrected
    FROM interviews i
    WHERE i.wave_id = $1 AND i.review_status IN ('none', 'corrected')
      AND ($4::text = '' OR i.district_code = $4)
      AND ($5::bigint = 0 OR i.interviewer_id = $5)
      AND ($6::timestamptz IS NULL OR i.completed_at >= $6)
      AND ($7::timestamptz IS NULL OR i.completed_at < $7)
      AND ($8::bigint = 0 OR i.id <= $8)
), g AS (
    SELECT * FROM f
    WHERE (too_short OR straight_lined OR not_confirmed OR no_answered_call OR imported OR corrected)
      AND CASE $9::text WHEN '' THEN true WHEN 'too_short' THEN too_short WHEN 'straight_lined' THEN straight_lined
               WHEN 'not_confirmed' THEN not_confirmed WHEN 'no_answered_call' THEN no_answered_call
               WHEN 'imported' THEN imported WHEN 'corrected' THEN corrected ELSE false END
)
SELECT g.id, coalesce(u.username, '') AS interviewer, g.district_code, coalesce(d.name, g.district_code) AS district_name,
       g.seconds, g.too_short, g.straight_lined, g.not_confirmed, g.no_answered_call, g.imported, g.corrected, g.completed_at,
       count(*) OVER () AS total,
       count(*) FILTER (WHERE g.too_short) OVER () AS n_too_short,
       count(*) FILTER (WHERE g.straight_lined) OVER () AS n_straight_lined,
       count(*) FILTER (WHERE g.not_confirmed) OVER () AS n_not_confirmed,
       count(*) FILTER (WHERE g.no_answered_call) OVER () AS n_no_answered_call,
       count(*) FILTER (WHERE g.imported) OVER () AS n_imported,
       count(*) FILTER (WHERE g.corrected) OVER () AS n_corrected,
       max(g.id) OVER () AS max_id
FROM g LEFT JOIN users u ON u.id = g.interviewer_id LEFT JOIN districts d ON d.code = g.district_code
ORDER BY g.completed_at DESC, g.id DESC
LIMIT $10 OFFSET $11

-- name: survey/reviewed-page
-- A page of a wave's review decisions, newest first, narrowed by district
-- ($2), interviewer ($3), decision days [$4, $5) and status ($6), with the
-- count of the narrowed set.
SELECT i.id, coalesce(u.username, '') AS interviewer, i.district_code, coalesce(d.name, i.district_code) AS district_name,
       i.review_status, i.review_note, i.reviewed_at, i.completed_at, count(*) OVER () AS total
FROM interviews i LEFT JOIN users u ON u.id = i.interviewer_id LEFT JOIN districts d ON d.code = i.district_code
WHERE i.wave_id = $1 AND i.review_status <> 'none'
  AND ($2::text = '' OR i.district_code = $2)
  AND ($3::bigint = 0 OR i.interviewer_id = $3)
  AND ($4::timestamptz IS NULL OR i.reviewed_at >= $4)
  AND ($5::timestamptz IS NULL OR i.reviewed_at < $5)
  AND ($6::text = '' OR i.review_status = $6)
ORDER BY i.reviewed_at DESC NULLS LAST, i.id DESC
LIMIT $7 OFFSET $8

-- name: survey/returned-page
-- A page of the interviews sent back to interviewer $1, oldest first,
-- narrowed by district ($2) and the days they were sent back [$3, $4).
SELECT i.id, coalesce(u.username, '') AS interviewer, i.district_code, coalesce(d.name, i.district_code) AS district_name,
       i.review_status, i.review_note, i.reviewed_at, i.completed_at, count(*) OVER () AS total
FROM interviews i LEFT JOIN users u ON u.id = i.interviewer_id LEFT JOIN districts d ON d.code = i.district_code
WHERE i.interviewer_id = $1 AND i.review_status = 'returned'
  AND ($2::text = '' OR i.district_code = $2)
  AND ($3::timestamptz IS NULL OR i.reviewed_at >= $3)
  AND ($4::timestamptz IS NULL OR i.reviewed_at < $4)
ORDER BY i.reviewed_at, i.id
LIMIT $5 OFFSET $6

-- name: survey/lock-for-approval
-- The interviews of wave $1 among $2, locked for a bulk approval.
SELECT id, review_status, coalesce(interviewer_id, 0) AS interviewer_id FROM interviews WHERE wave_id = $1 AND id = ANY ($2::bigint[]) ORDER BY id FOR UPDATE

-- name: survey/approve-many
UPDATE interviews SET review_status = 'approved', review_note = '', reviewed_by = $2, reviewed_at = now(),
       row_version = row_version + 1
WHERE id = ANY ($1::bigint[])

-- name: dialer/appointments-page
-- A page of a wave's appointments by time, narrowed by district ($3), who
-- made them ($4), their days [$5, $6) and state ($7: missed, in_call,
-- upcoming), with the counts of the narrowed set. An appointment more than
-- the grace period ($2) past its time and not yet called again is missed.
WITH a AS (
    SELECT c.id AS case_id, c.district_code, c.next_at AS at, c.appointment_by,
           c.held_by IS NOT NULL AND c.held_until > now() AS in_call,
           c.next_at < now() - $2::interval AS missed
    FROM cases c
    WHERE c.wave_id = $1 AND c.status = 'appointment'
      AND ($3::text = '' OR c.district_code = $3)
      AND ($4::bigint = 0 OR c.appointment_by = $4)
      AND ($5::timestamptz IS NULL OR c.next_at >= $5)
      AND ($6::timestamptz IS NULL OR c.next_at < $6)
), b AS (
    SELECT * FROM a
    WHERE CASE $7::text WHEN '' THEN true WHEN 'missed' THEN missed AND NOT in_call WHEN 'in_call' THEN in_call
                        WHEN 'upcoming' THEN NOT missed AND NOT in_call ELSE false END
)
SELECT b.case_id, coalesce(d.name, '') AS district, b.at, coalesce(u.username, '') AS made_by, b.in_call, b.missed,
       count(*) OVER () AS total, count(*) FILTER (WHERE b.missed AND NOT b.in_call) OVER () AS n_missed
FROM b LEFT JOIN districts d ON d.code = b.district_code LEFT JOIN users u ON u.id = b.appointment_by
ORDER BY b.at, b.case_id
LIMIT $8 OFFSET $9

-- name: dialer/appointment-calendar
-- A wave's appointments counted by Beijing day and hour, and how many are
-- missed (past the grace period $2).
SELECT to_char(c.next_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') AS day,
       extract(hour FROM c.next_at AT TIME ZONE 'Asia/Shanghai')::int AS hour, count(*) AS n,
       count(*) FILTER (WHERE c.next_at < now() - $2::interval AND NOT (c.held_by IS NOT NULL AND c.held_until > now())) AS missed
FROM cases c
WHERE c.wave_id = $1 AND c.status = 'appointment'
GROUP BY 1, 2
ORDER BY 1, 2

-- name: dialer/verifications-page
-- A page of a wave's verification call-backs, open ones first, narrowed
-- by the interview's district ($2), the interviewer verified ($3), the
-- days they were made [$4, $5) and result ($6: open or a result). The
-- narrowed set is counted and paged from verification_calls alone; only
-- the page's rows are joined to their interviewers' names, and the
-- interviews are read only to narrow by district.
WITH p AS (
    SELECT v.id, v.interview_id, v.case_id, v.interviewer_id, v.status, v.result, v.attempts, v.next_at, v.verified_by, v.note, v.updated_at,
           count(*) OVER () AS total
    FROM verification_calls v
    WHERE v.wave_id = $1
      AND ($2::text = '' OR EXISTS (SELECT 1 FROM interviews i WHERE i.id = v.interview_id AND i.district_code = $2))
      AND ($3::bigint = 0 OR v.interviewer_id = $3)
      AND ($4::timestamptz IS NULL OR v.created_at >= $4)
      AND ($5::timestamptz IS NULL OR v.created_at < $5)
      AND ($6::text = '' OR ($6 = 'open' AND v.result IS NULL) OR v.result = $6)
    ORDER BY v.status DESC, v.next_at, v.id
    LIMIT $7 OFFSET $8
)
SELECT p.id, p.interview_id, p.case_id, u.username AS interviewer, p.status, coalesce(p.result, '') AS result, p.attempts,
       p.next_at, coalesce(vb.username, '') AS verified_by, p.note, p.updated_at, p.total
FROM p JOIN users u ON u.id = p.interviewer_id LEFT JOIN users vb ON vb.id = p.verified_by
ORDER BY p.status DESC, p.next_at, p.id

-- name: dialer/verification-summary
-- A wave's verification call-backs counted per interviewer verified.
SELECT u.username AS interviewer,
       count(*) FILTER (WHERE v.result IS NULL) AS open,
       count(*) FILTER (WHERE v.result = 'confirmed') AS confirmed,
       count(*) FILTER (WHERE v.result = 'not_confirmed') AS not_confirmed,
       count(*) FILTER (WHERE v.result IN ('refused', 'unreachable')) AS unresolved
FROM verification_calls v JOIN users u ON u.id = v.interviewer_id
WHERE v.wave_id = $1
GROUP BY u.username
ORDER BY u.username

-- name: jobs/page
-- A page of the background jobs, newest first, narrowed by who started
-- them ($1), the days they started [$2, $3) and status ($4).
SELECT j.id, j.kind, j.subject, j.status, j.done, j.total, j.message, coalesce(j.error, '') AS error, j.started_at, j.finished_at,
       coalesce(u.username, '') AS created_by, count(*) OVER () AS total_rows
FROM jobs j LEFT JOIN users u ON u.id = j.created_by
WHERE ($1::bigint = 0 OR j.created_by = $1)
  AND ($2::timestamptz IS NULL OR j.started_at >= $2)
  AND ($3::timestamptz IS NULL OR j.started_at < $3)
  AND ($4::text = '' OR j.status = $4)
ORDER BY j.started_at DESC, j.id DESC
LIMIT $5 OFFSET $6

-- name: audit/page
-- A page of the audit log, newest first, narrowed by who acted ($1), the
-- days [$2, $3) and the action ($4), with the count of the narrowed set.
SELECT seq, at, coalesce(actor_id, 0) AS actor_id, actor, action, subject, details::text AS details, count(*) OVER () AS total
FROM audit_log
WHERE ($1::bigint = 0 OR actor_id = $1)
  AND ($2::timestamptz IS NULL OR at >= $2)
  AND ($3::timestamptz IS NULL OR at < $3)
  AND ($4::text = '' OR action = $4)
ORDER BY seq DESC
LIMIT $5 OFFSET $6

-- name: audit/actions
-- The actions the audit log holds, each found by one probe of its index
-- (a loose index scan) rather than by reading the whole log.
WITH RECURSIVE a AS (
    (SELECT action FROM audit_log ORDER BY action LIMIT 1)
    UNION ALL
    SELECT (SELECT l.action FROM audit_log l WHERE l.action > a.action ORDER BY l.action LIMIT 1) FROM a WHERE a.action IS NOT NULL
)
SELECT action FROM a WHERE action IS NOT NULL
