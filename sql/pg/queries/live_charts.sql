-- name: dialer/live-hours
-- A wave's attempts on the latest day it called (Beijing time), by hour:
-- how many, how many reached a person (AAPOR 1.x interviews, 2.1x refusals
-- and break-offs, 2.3x other eligible non-interviews) and how many were
-- refusals. The live view draws contact and refusal rates through the
-- evening from them.
WITH a AS (
  SELECT a.created_at AT TIME ZONE 'Asia/Shanghai' AS t, a.aapor_code
  FROM attempts a JOIN cases c ON c.id = a.case_id
  WHERE c.wave_id = $1
), d AS (SELECT max(t)::date AS day FROM a)
SELECT to_char(d.day, 'YYYY-MM-DD') AS day, extract(hour FROM a.t)::int AS hour,
       count(*) AS attempts,
       count(*) FILTER (WHERE a.aapor_code LIKE '1.%' OR a.aapor_code LIKE '2.1%' OR a.aapor_code LIKE '2.3%') AS contacts,
       count(*) FILTER (WHERE a.aapor_code LIKE '2.1%') AS refusals
FROM a, d
WHERE a.t::date = d.day
GROUP BY d.day, extract(hour FROM a.t)
ORDER BY hour

-- name: dialer/live-interviewers
-- Each interviewer's pace over a wave: completes, the hours between their
-- first and last call (at least a quarter of an hour, as on the supervision
-- page), and the mean length of their timed interviews.
SELECT u.username,
       count(a.id) FILTER (WHERE a.aapor_code = '1.1') AS completes,
       greatest(extract(epoch FROM max(a.created_at) - min(a.created_at)) / 3600, 0.25) AS hours,
       coalesce((SELECT avg(extract(epoch FROM i.completed_at - i.started_at))
                 FROM interviews i WHERE i.wave_id = $1 AND i.interviewer_id = u.id AND i.started_at IS NOT NULL), 0) AS mean_seconds
FROM attempts a JOIN cases c ON c.id = a.case_id JOIN users u ON u.id = a.interviewer_id
WHERE c.wave_id = $1
GROUP BY u.id, u.username
ORDER BY u.username
