-- The supervision page's interviewer figures of wave $1 as they were
-- counted before the running totals of 0112: every attempt of the wave
-- joined to its case on each view. The baseline of the supervision page.
WITH m AS (
    SELECT interviewer_id,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - started_at)) AS median_seconds
    FROM interviews
    WHERE wave_id = $1 AND interviewer_id IS NOT NULL AND started_at IS NOT NULL
    GROUP BY interviewer_id
)
SELECT u.username,
       count(a.id) AS calls,
       count(a.id) FILTER (WHERE a.aapor_code = '1.1') AS completes,
       count(a.id) FILTER (WHERE a.aapor_code LIKE '2.1%') AS refusals,
       greatest(extract(epoch FROM max(a.created_at) - min(a.created_at)) / 3600, 0.25) AS hours,
       coalesce(min(m.median_seconds), 0) AS median_seconds
FROM attempts a JOIN cases c ON c.id = a.case_id JOIN users u ON u.id = a.interviewer_id
LEFT JOIN m ON m.interviewer_id = u.id
WHERE c.wave_id = $1
GROUP BY u.id, u.username
ORDER BY u.username
