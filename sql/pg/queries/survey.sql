-- name: survey/get-questionnaire
SELECT id, definition FROM questionnaires WHERE id = $1

-- name: survey/insert-questionnaire
INSERT INTO questionnaires (name, version, definition) VALUES ($1, $2, $3)
ON CONFLICT (name, version) DO NOTHING RETURNING id

-- name: survey/insert-interview
INSERT INTO interviews (wave_id, case_id, external_id, questionnaire_id, interviewer_id, district_code, mode, psu,
                        weight, sex, age_group, answers, idempotency_key, source, started_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
ON CONFLICT DO NOTHING
RETURNING id

-- name: survey/interview-by-key
SELECT id FROM interviews WHERE idempotency_key = $1 OR (case_id IS NOT NULL AND case_id = $2)

-- name: survey/wave-respondents
-- A wave's interviews as the estimator needs them (those not judged
-- invalid on review), those with ids from $2 up to $3 (several
-- connections read a large wave side by side, each a range of ids). A
-- door-to-door interview belongs to the cluster in its psu; a telephone
-- interview is always a PSU of its own (docs/estimation.md), and has NULL
-- for one. The answers marker becomes the answers the estimator reads
-- (sex, age group, urban/rural, then the indicators), each
-- i.answers->>$n with the keys bound as parameters $4…; they come in one
-- text array after the district and the PSU: PostgreSQL extracts them from
-- the jsonb instead of sending the whole document, an array costs it far
-- less than joining them into one text, and one column keeps reading
-- cheap for the driver, which allocates for every text value. The sex and
-- age group columns hold the answers' codes when known; the answers are
-- read only where they are NULL.
SELECT i.id, i.weight, i.sex, i.age_group,
       ARRAY[i.district_code, CASE WHEN i.mode = 'door' THEN coalesce(i.psu, '') END /*answers*/] AS fields
FROM interviews i
WHERE i.wave_id = $1 AND i.review_status <> 'invalid' AND i.id >= $2 AND i.id < $3

-- name: survey/export-snapshot
SELECT pg_export_snapshot()

-- name: survey/wave-id-range
SELECT coalesce(min(id), 0) AS lo, coalesce(max(id), 0) AS hi FROM interviews WHERE wave_id = $1

-- name: survey/wave-questionnaire
SELECT id, questionnaire_id FROM waves WHERE name = $1

-- name: survey/margins
SELECT district_code, variable, category, population FROM margins ORDER BY district_code, variable, category

-- name: survey/insert-publication
INSERT INTO score_publications (wave_id, questionnaire_id, published_by, long_csv, sha256)
VALUES ($1, $2, $3, $4, $5) RETURNING id, published_at

-- name: survey/latest-publication
SELECT id, published_at, published_by, long_csv, sha256 FROM score_publications
WHERE wave_id = $1 ORDER BY published_at DESC, id DESC LIMIT 1

-- name: survey/assessment-weight
SELECT assessment_weight FROM waves WHERE id = $1

-- name: survey/insert-published-weights
-- Every interview counted in the scores with its final weight: given on
-- import, or its weighting cell's (district, sex, age group, urban/rural).
INSERT INTO published_weights (publication_id, interview_id, weight)
SELECT $1, i.id, coalesce(i.weight, c.weight::float8)
FROM interviews i
LEFT JOIN unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS c(district, sex, age_group, urban, weight)
  ON i.weight IS NULL AND c.district = i.district_code AND c.sex = coalesce(i.answers->>'sex', '')
 AND c.age_group = coalesce(i.answers->>'age_group', '') AND c.urban = coalesce(i.answers->>'urban', '')
WHERE i.wave_id = $2 AND i.review_status <> 'invalid'

-- name: survey/score-waves
-- Every wave for the scores index: how many interviews count in its scores
-- and when its scores were last published.
SELECT w.name,
       (SELECT count(*) FROM interviews i WHERE i.wave_id = w.id AND i.review_status <> 'invalid') AS interviews,
       (SELECT max(p.published_at) FROM score_publications p WHERE p.wave_id = w.id) AS published_at
FROM waves w
ORDER BY w.created_at DESC, w.id DESC
