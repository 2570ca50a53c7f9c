-- name: dialer/appointments
-- Appointments of a wave with who made them. An appointment more than the
-- grace period past its time and not yet called again is missed.
SELECT c.id AS case_id, coalesce(d.name, '') AS district, c.next_at AS at,
       coalesce((SELECT u.username FROM attempts a JOIN users u ON u.id = a.interviewer_id
                 WHERE a.case_id = c.id AND a.outcome = 'appointment' ORDER BY a.id DESC LIMIT 1), '') AS made_by,
       c.held_by IS NOT NULL AND c.held_until > now() AS in_call,
       c.next_at < now() - $2::interval AS missed
FROM cases c LEFT JOIN districts d ON d.code = c.district_code
WHERE c.wave_id = $1 AND c.status = 'appointment'
ORDER BY c.next_at, c.id

-- name: dialer/interviewer-stats
-- Per interviewer over a wave: calls, completes and refusals, the hours
-- between their first and last call (at least a quarter of an hour, so that
-- a first call does not give an absurd rate), and the median interview
-- length. The calls are the running totals interviewer_call_totals keeps
-- (0112), one row per interviewer who called; the medians are taken in one
-- pass over the wave's interviews (the index interviews_interviewer_length
-- holds what they need), not one pass per interviewer.
WITH m AS (
    SELECT interviewer_id,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - started_at)) AS median_seconds
    FROM interviews
    WHERE wave_id = $1 AND interviewer_id IS NOT NULL AND started_at IS NOT NULL
    GROUP BY interviewer_id
)
SELECT u.username, t.calls, t.completes, t.refusals,
       greatest(extract(epoch FROM t.last_at - t.first_at) / 3600, 0.25) AS hours,
       coalesce(m.median_seconds, 0) AS median_seconds
FROM interviewer_call_totals t JOIN users u ON u.id = t.interviewer_id
LEFT JOIN m ON m.interviewer_id = t.interviewer_id
WHERE t.wave_id = $1
ORDER BY u.username

-- name: dialer/flagged-interviews
-- Interviews to review: shorter than the threshold, straight-lined (the
-- same answer to every indicator question), not confirmed by the
-- respondent on a verification call-back, or imported from a file (which
-- no one saw being collected), and not yet decided on; with those an
-- interviewer corrected after they were sent back. An interview from a form
-- with no start on record cannot show how long it took: it counts as too
-- short. Paper forms are not timed.
-- When Minyi places the calls ($4), also a telephone interview whose case
-- never had an answered call: it was never talked through Minyi.
SELECT i.id, coalesce(u.username, '') AS interviewer, i.district_code,
       coalesce(extract(epoch FROM i.completed_at - i.started_at), 0) AS seconds,
       i.source IN ('cati', 'capi') AND (i.started_at IS NULL OR i.completed_at - i.started_at < $2::interval) AS too_short,
       (SELECT count(DISTINCT i.answers ->> k) FROM unnest($3::text[]) k) = 1 AS straight_lined,
       v.interview_id IS NOT NULL AS not_confirmed,
       $4::boolean AND i.source = 'cati' AND i.case_id IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM calls k WHERE k.case_id = i.case_id AND k.answered_at IS NOT NULL) AS no_answered_call,
       i.source = 'import' AS imported,
       i.completed_at
FROM interviews i LEFT JOIN users u ON u.id = i.interviewer_id
LEFT JOIN verification_calls v ON v.interview_id = i.id AND v.result = 'not_confirmed'
WHERE i.wave_id = $1 AND i.review_status IN ('none', 'corrected')
  AND ((i.source IN ('cati', 'capi') AND (i.started_at IS NULL OR i.completed_at - i.started_at < $2::interval))
       OR (SELECT count(DISTINCT i.answers ->> k) FROM unnest($3::text[]) k) = 1
       OR v.interview_id IS NOT NULL
       OR i.source = 'import'
       OR i.review_status = 'corrected'
       OR ($4::boolean AND i.source = 'cati' AND i.case_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM calls k WHERE k.case_id = i.case_id AND k.answered_at IS NOT NULL)))
ORDER BY i.completed_at DESC, i.id DESC
LIMIT 500
