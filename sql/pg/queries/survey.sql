-- name: survey/get-questionnaire
SELECT id, definition FROM questionnaires WHERE id = $1

-- name: survey/insert-questionnaire
INSERT INTO questionnaires (name, version, definition) VALUES ($1, $2, $3)
ON CONFLICT (name, version) DO NOTHING RETURNING id

-- name: survey/insert-interview
-- The interview and its evidence (docs/evidence.md §2) in one statement: the
-- SHA-256 of its content as stored, every column that says what was
-- answered, by whom, when and how it counts, as a JSON array (exact and
-- unambiguous: NULL is null, the weight its eight bytes, times in
-- microseconds). The same expression, between the same markers, computes
-- the hash wherever it is needed; a test holds the copies equal.
WITH iv AS (
    INSERT INTO interviews (wave_id, case_id, external_id, questionnaire_id, interviewer_id, district_code, mode, psu,
                            weight, sex, age_group, answers, idempotency_key, source, started_at, partial)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
    ON CONFLICT DO NOTHING
    RETURNING *
), evidence AS (
    INSERT INTO interview_evidence (interview_id, version, hash)
    SELECT id, row_version,
           /* interview-hash */ encode(sha256(convert_to(jsonb_build_array('interview/1', id, wave_id, case_id, external_id,
               questionnaire_id, interviewer_id, district_code, mode, psu, encode(float8send(weight), 'hex'), sex, age_group,
               answers, source, (extract(epoch FROM started_at) * 1000000)::bigint, (extract(epoch FROM completed_at) * 1000000)::bigint,
               partial, review_status, row_version)::text, 'UTF8')), 'hex') /* end */
    FROM iv
)
SELECT id FROM iv

-- name: survey/record-evidence
-- A changed interview's new content, in the transaction that changed it.
INSERT INTO interview_evidence (interview_id, version, hash)
SELECT id, row_version,
       /* interview-hash */ encode(sha256(convert_to(jsonb_build_array('interview/1', id, wave_id, case_id, external_id,
           questionnaire_id, interviewer_id, district_code, mode, psu, encode(float8send(weight), 'hex'), sex, age_group,
           answers, source, (extract(epoch FROM started_at) * 1000000)::bigint, (extract(epoch FROM completed_at) * 1000000)::bigint,
           partial, review_status, row_version)::text, 'UTF8')), 'hex') /* end */
FROM interviews WHERE id = $1
RETURNING version, hash

-- name: survey/interview-hashes
-- Every interview's content hash as it is now, for verification.
SELECT id,
       /* interview-hash */ encode(sha256(convert_to(jsonb_build_array('interview/1', id, wave_id, case_id, external_id,
           questionnaire_id, interviewer_id, district_code, mode, psu, encode(float8send(weight), 'hex'), sex, age_group,
           answers, source, (extract(epoch FROM started_at) * 1000000)::bigint, (extract(epoch FROM completed_at) * 1000000)::bigint,
           partial, review_status, row_version)::text, 'UTF8')), 'hex') /* end */ AS hash
FROM interviews ORDER BY id

-- name: survey/evidence-horizon
-- Every transaction with an xid below this one has ended: its evidence rows
-- are committed or gone for good.
SELECT pg_snapshot_xmin(pg_current_snapshot())::text

-- name: survey/last-seal
SELECT details->>'to' AS "to", coalesce((details->>'max_id')::bigint, 0) AS max_id
FROM audit_log WHERE action = 'evidence-seal' ORDER BY seq DESC LIMIT 1

-- name: survey/unsealed-evidence
SELECT id, interview_id, version, hash FROM interview_evidence
WHERE xid >= $1::xid8 AND xid < $2::xid8 AND id > $3 ORDER BY id

-- name: survey/all-evidence
SELECT id, interview_id, version, hash FROM interview_evidence ORDER BY id

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

-- name: survey/publication-weights-hash
-- The SHA-256 of a publication's weights, one "interview:weight" line each
-- in interview order, the weight as its eight bytes in hex.
SELECT /* weights-hash */ (SELECT encode(sha256(convert_to(coalesce(string_agg(pw.interview_id || ':' || encode(float8send(pw.weight), 'hex'), E'\n' ORDER BY pw.interview_id), ''), 'UTF8')), 'hex')
                                FROM published_weights pw WHERE pw.publication_id = p.id) /* end */
FROM score_publications p WHERE p.id = $1

-- name: survey/publications-evidence
-- Every publication as stored, with the hashes of its CSV and its weights.
SELECT p.id, w.name AS wave, p.published_at, p.sha256 AS stored_sha256,
       encode(sha256(convert_to(p.long_csv, 'UTF8')), 'hex') AS sha256,
       /* weights-hash */ (SELECT encode(sha256(convert_to(coalesce(string_agg(pw.interview_id || ':' || encode(float8send(pw.weight), 'hex'), E'\n' ORDER BY pw.interview_id), ''), 'UTF8')), 'hex')
                                FROM published_weights pw WHERE pw.publication_id = p.id) /* end */ AS weights_sha256
FROM score_publications p JOIN waves w ON w.id = p.wave_id ORDER BY p.id

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
