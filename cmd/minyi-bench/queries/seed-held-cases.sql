-- Cases already held by one simulated interviewer, for the submission
-- benchmark: each request completes one of them.
INSERT INTO cases (wave_id, district_code, phone, status, held_by, held_until)
SELECT $1, '500101', '1390230' || lpad(g::text, 4, '0'), 'pending', $2, now() + interval '2 hours'
FROM generate_series(1, $3) g
RETURNING id
