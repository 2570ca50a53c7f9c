-- name: dialer/live-districts
SELECT a.district_code, d.name, a.target,
       count(c.id) FILTER (WHERE c.status = 'fresh') AS fresh,
       count(c.id) FILTER (WHERE c.status = 'pending') AS pending,
       count(c.id) FILTER (WHERE c.status = 'appointment') AS appointments,
       count(c.id) FILTER (WHERE c.status = 'final') AS final,
       count(c.id) FILTER (WHERE c.held_by IS NOT NULL AND c.held_until > now() AND c.status <> 'final') AS held,
       (SELECT count(*) FROM interviews i WHERE i.wave_id = a.wave_id AND i.district_code = a.district_code) AS completes,
       (SELECT count(*) FROM replicates r WHERE r.wave_id = a.wave_id AND r.district_code = a.district_code AND r.opened_at IS NOT NULL) AS open_replicates,
       (SELECT count(*) FROM replicates r WHERE r.wave_id = a.wave_id AND r.district_code = a.district_code) AS replicates,
       EXISTS (SELECT 1 FROM quota_cells q WHERE q.wave_id = a.wave_id AND q.district_code = a.district_code
                 AND q.sex = 0 AND q.age_group = 0 AND q.completes >= q.target) AS quota_full
FROM allocations a
JOIN districts d ON d.code = a.district_code
LEFT JOIN cases c ON c.wave_id = a.wave_id AND c.stratum = a.district_code
WHERE a.wave_id = $1
GROUP BY a.wave_id, a.district_code, d.name, a.target
ORDER BY a.district_code

-- name: dialer/live-summary
SELECT
  (SELECT count(DISTINCT held_by) FROM cases WHERE wave_id = $1 AND held_by IS NOT NULL AND held_until > now() AND status <> 'final') AS holding,
  (SELECT count(DISTINCT a.interviewer_id) FROM attempts a JOIN cases c ON c.id = a.case_id
     WHERE c.wave_id = $1 AND a.created_at > now() - interval '15 minutes') AS active,
  (SELECT count(*) FROM interviews WHERE wave_id = $1 AND completed_at > now() - interval '1 hour') AS completes_last_hour,
  (SELECT count(*) FROM attempts a JOIN cases c ON c.id = a.case_id WHERE c.wave_id = $1 AND a.created_at > now() - interval '1 hour') AS calls_last_hour,
  (SELECT coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - started_at)), 0)
     FROM (SELECT completed_at, started_at FROM interviews WHERE wave_id = $1 AND started_at IS NOT NULL ORDER BY id DESC LIMIT 1000) x) AS median_seconds,
  (SELECT count(*) FROM interviews WHERE wave_id = $1) AS completes

-- name: dialer/completes-by-day
SELECT to_char(completed_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') AS day, count(*) AS n
FROM interviews WHERE wave_id = $1 GROUP BY 1 ORDER BY 1
