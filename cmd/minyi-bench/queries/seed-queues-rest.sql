-- Around the wave of seed-queues ($1, interviewers $2, supervisor $3):
-- 3,000 appointments over two days, a tenth of them missed; 300 interviews
-- (not flagged ones) sent back to the first interviewer; 2,000 background
-- jobs, a twentieth failed; and 60,000 audit entries, the approvals and
-- sign-ins of a busy wave. The audit rows are not chained: the pages read
-- them, nothing here verifies them.
WITH a AS (
    INSERT INTO cases (wave_id, district_code, stratum, replicate, mode, phone, status, attempts, next_at, appointment_by)
    SELECT $1, d.code, d.code, 1, 'phone', '1392' || lpad(g::text, 7, '0'), 'appointment', 1,
           now() - interval '3 hours' + g * interval '50 seconds', ($2::bigint[])[1 + g % cardinality($2::bigint[])]
    FROM generate_series(1, 3000) g
    JOIN (SELECT code, row_number() OVER (ORDER BY code) - 1 AS k, count(*) OVER () AS n FROM districts) d ON d.k = g % d.n
    RETURNING id
), r AS (
    UPDATE interviews SET review_status = 'returned', review_note = '请核对第 3 题', reviewed_by = $3, reviewed_at = completed_at + interval '1 day',
           row_version = row_version + 1
    WHERE id IN (SELECT id FROM interviews WHERE wave_id = $1 AND interviewer_id = ($2::bigint[])[1] AND NOT straight_lined
                   AND completed_at - started_at > interval '5 minutes'
                   AND NOT EXISTS (SELECT 1 FROM verification_calls v WHERE v.interview_id = interviews.id AND v.result = 'not_confirmed')
                 ORDER BY id LIMIT 300)
    RETURNING id
), j AS (
    INSERT INTO jobs (kind, subject, status, done, total, message, error, created_by, started_at, finished_at)
    SELECT CASE WHEN g % 3 = 0 THEN 'frame-phone' ELSE 'draw' END, 'wave-' || g, CASE WHEN g % 20 = 0 THEN 'failed' ELSE 'ok' END,
           100, 100, '', CASE WHEN g % 20 = 0 THEN '抽样框中没有该区县的号码' END, $3,
           now() - g * interval '17 minutes', now() - g * interval '17 minutes' + interval '2 minutes'
    FROM generate_series(1, 2000) g
    RETURNING id
)
INSERT INTO audit_log (seq, at, actor_id, actor, action, subject, details, prev_hash, hash)
SELECT coalesce((SELECT max(seq) FROM audit_log), 0) + g, now() - (60000 - g) * interval '10 seconds',
       CASE WHEN g % 4 = 0 THEN $3 ELSE ($2::bigint[])[1 + g % cardinality($2::bigint[])] END,
       CASE WHEN g % 4 = 0 THEN 'bench-supervisor' ELSE 'bench-iv' || (g % cardinality($2::bigint[])) END,
       CASE WHEN g % 4 = 0 THEN 'interview-change' ELSE 'sign-in' END,
       CASE WHEN g % 4 = 0 THEN 'interview:' || g ELSE '' END,
       CASE WHEN g % 4 = 0 THEN '{"changes": [{"field": "review_status", "old": "none", "new": "approved"}]}'::jsonb ELSE '{}'::jsonb END,
       '', md5(g::text)
FROM generate_series(1, 60000) g
WHERE (SELECT count(*) FROM a) + (SELECT count(*) FROM r) + (SELECT count(*) FROM j) > 0
