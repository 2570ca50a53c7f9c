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

-- name: bench/seed-interviews
-- $3 completed interviews of the default questionnaire spread over the
-- districts, with demographics and pseudo-random answer codes, for the
-- microdata export benchmark.
WITH d AS (SELECT array_agg(code ORDER BY code) AS codes FROM districts)
INSERT INTO interviews (wave_id, questionnaire_id, district_code, mode, answers, source, completed_at)
SELECT $1, $2, d.codes[1 + g % cardinality(d.codes)], CASE WHEN g % 5 = 0 THEN 'door' ELSE 'phone' END,
       jsonb_build_object('s1', '1', 's2', '1', 'district', d.codes[1 + g % cardinality(d.codes)],
           'sex', (1 + (g / 40) % 2)::text, 'age_group', (1 + (g / 80) % 5)::text, 'urban', (1 + (g / 400) % 2)::text,
           'q01', (ARRAY['1','2','3','4','5','8'])[1 + (g * 7) % 6], 'q02', (ARRAY['1','2','3','4','5','8'])[1 + (g * 11) % 6],
           'q03', (ARRAY['1','2','3','4','5','8'])[1 + (g * 13) % 6], 'q04', (ARRAY['1','2','3','4','5','8'])[1 + (g * 17) % 6],
           'q05', (ARRAY['1','2','3','4','5','8'])[1 + (g * 19) % 6], 'q06', (ARRAY['1','2','3','4','5','8'])[1 + (g * 23) % 6],
           'q07', (ARRAY['1','2','3','4','5','8'])[1 + (g * 29) % 6], 'q08', (ARRAY['1','2','3','4','5','8'])[1 + (g * 31) % 6],
           'q09', (ARRAY['1','2','3','4','5','8'])[1 + (g * 37) % 6], 'q10', (ARRAY['1','2','3','4','5','8'])[1 + (g * 41) % 6],
           'q11', (ARRAY['1','2','3','4','5','8'])[1 + (g * 43) % 6], 'q12', (ARRAY['1','2','3','4','5','8'])[1 + (g * 47) % 6],
           'q13', (ARRAY['1','2','3','4','5','9'])[1 + (g * 53) % 6]),
       'import', now()
FROM generate_series(1, $3) g, d

-- name: bench/seed-margins
-- Census margins of every district for the microdata export benchmark, so
-- that its weights are raked as in a real wave: 51% men, five equal age
-- groups, 60% urban.
INSERT INTO margins (district_code, variable, category, population)
SELECT code, 'sex', c, CASE c WHEN 1 THEN population * 51 / 100 ELSE population - population * 51 / 100 END
FROM districts, generate_series(1, 2) c
UNION ALL
SELECT code, 'age_group', c, CASE WHEN c < 5 THEN population / 5 ELSE population - 4 * (population / 5) END
FROM districts, generate_series(1, 5) c
UNION ALL
SELECT code, 'urban', c, CASE c WHEN 1 THEN population * 6 / 10 ELSE population - population * 6 / 10 END
FROM districts, generate_series(1, 2) c
ON CONFLICT DO NOTHING

-- name: bench/seed-score-margins
-- Census margins for every district (sex, age group, urban/rural), each
-- variable adding up to the district's population (cumulative shares, so
-- that rounding cannot make the totals differ), so that scoring rakes.
INSERT INTO margins (district_code, variable, category, population)
SELECT code, v.variable, v.category, population * v.upto / 100 - population * v.below / 100
FROM districts CROSS JOIN (VALUES
    ('sex', 1, 0, 51), ('sex', 2, 51, 100),
    ('age_group', 1, 0, 20), ('age_group', 2, 20, 38), ('age_group', 3, 38, 58),
    ('age_group', 4, 58, 78), ('age_group', 5, 78, 100),
    ('urban', 1, 0, 70), ('urban', 2, 70, 100)) AS v(variable, category, below, upto)
ON CONFLICT (district_code, variable, category) DO UPDATE SET population = excluded.population

-- name: bench/seed-score-interviews
-- $3 completed interviews in each of the first $4 districts, a fifth of
-- them door to door in 60 communities per district, with random answers:
-- mostly satisfied, some don't know or refused.
INSERT INTO interviews (wave_id, questionnaire_id, district_code, mode, psu, sex, age_group, answers, source)
SELECT $1, $2, d.code, CASE WHEN g % 5 = 0 THEN 'door' ELSE 'phone' END, CASE WHEN g % 5 = 0 THEN 'c' || (g % 60) END,
       r.sex, r.age,
       jsonb_build_object('sex', r.sex::text, 'age_group', r.age::text, 'urban', (1 + (random() < 0.3)::int)::text,
         'q01', c[1], 'q02', c[2], 'q03', c[3], 'q04', c[4], 'q05', c[5], 'q06', c[6], 'q07', c[7],
         'q08', c[8], 'q09', c[9], 'q10', c[10], 'q11', c[11], 'q12', c[12], 'q13', c[13]),
       'import'
FROM (SELECT code FROM districts ORDER BY code LIMIT $4) d
CROSS JOIN generate_series(1, $3) g
CROSS JOIN LATERAL (SELECT 1 + (random() < 0.49)::int AS sex, 1 + floor(random() * 5)::int AS age,
    ARRAY(SELECT (ARRAY['1','2','2','2','3','3','3','4','5','8','9','2'])[1 + floor(random() * 12)::int] || left(g::text, 0)
          FROM generate_series(1, 13)) AS c
    WHERE g IS NOT NULL) r

-- name: bench/scores-baseline
-- The bare aggregate the scores benchmark is measured against.
SELECT district_code,
       avg((answers->>'q01')::int) AS q01, avg((answers->>'q02')::int) AS q02, avg((answers->>'q03')::int) AS q03,
       avg((answers->>'q04')::int) AS q04, avg((answers->>'q05')::int) AS q05, avg((answers->>'q06')::int) AS q06,
       avg((answers->>'q07')::int) AS q07, avg((answers->>'q08')::int) AS q08, avg((answers->>'q09')::int) AS q09,
       avg((answers->>'q10')::int) AS q10, avg((answers->>'q11')::int) AS q11, avg((answers->>'q12')::int) AS q12,
       avg((answers->>'q13')::int) AS q13
FROM interviews WHERE wave_id = $1 GROUP BY district_code
