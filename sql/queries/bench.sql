-- name: bench/seed-held-cases
-- Cases already held by one simulated interviewer, for the submission
-- benchmark: each request completes one of them.
INSERT INTO cases (wave_id, district_code, phone, status, held_by, held_until)
SELECT $1, '500101', '1390230' || lpad(g::text, 4, '0'), 'pending', $2, now() + interval '2 hours'
FROM generate_series(1, $3) g
RETURNING id

-- name: bench/seed-soak-draw
-- A wave ready to be called without drawing it from a frame: the draw
-- record, one open replicate per district and fresh cases in it.
INSERT INTO draws (wave_id, algorithm, version, seed, frame_checksum) VALUES ($1, 'bench-seed', 1, 1, '')

-- name: bench/seed-soak-replicates
INSERT INTO replicates (wave_id, district_code, number, opened_at, opened_by)
SELECT $1, code, 1, now(), 'draw' FROM districts

-- name: bench/seed-soak-cases
INSERT INTO cases (wave_id, district_code, stratum, replicate, mode, phone, status)
SELECT $1, d.code, d.code, 1, 'phone', '1390' || lpad((row_number() OVER ())::text, 7, '0'), 'fresh'
FROM districts d CROSS JOIN generate_series(1, $2) g
