-- name: sampler/upsert-district
INSERT INTO districts (code, name, population) VALUES ($1, $2, $3)
ON CONFLICT (code) DO UPDATE SET name = excluded.name, population = excluded.population, updated_at = now()
WHERE (districts.name, districts.population) IS DISTINCT FROM (excluded.name, excluded.population)

-- name: sampler/any-publication
SELECT EXISTS (SELECT 1 FROM score_publications)

-- name: sampler/list-districts
SELECT code, name, population FROM districts ORDER BY code

-- name: sampler/insert-wave
INSERT INTO waves (name, rate, min_per_district, expected_rate, modes, questionnaire_id)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING id

-- name: sampler/get-wave
SELECT w.id, w.name, w.rate, w.min_per_district, w.expected_rate, w.modes, w.questionnaire_id, w.created_at,
       d.seed AS "draw.seed", d.algorithm AS "draw.algorithm", d.version AS "draw.version",
       d.frame_checksum AS "draw.frame_checksum", d.created_at AS "draw.created_at"
FROM waves w LEFT JOIN draws d ON d.wave_id = w.id WHERE w.name = $1

-- name: sampler/list-waves
SELECT w.id, w.name, w.rate, w.min_per_district, w.expected_rate, w.modes, w.questionnaire_id, w.created_at,
       d.seed AS "draw.seed", d.algorithm AS "draw.algorithm", d.version AS "draw.version",
       d.frame_checksum AS "draw.frame_checksum", d.created_at AS "draw.created_at"
FROM waves w LEFT JOIN draws d ON d.wave_id = w.id ORDER BY w.created_at DESC, w.id DESC

-- name: sampler/frame-sizes
SELECT coalesce(district_code, '') AS stratum, count(*) AS n FROM phone_frame GROUP BY 1 ORDER BY 1

-- name: sampler/set-wave-design
UPDATE waves SET door_share = coalesce($2::double precision, door_share), households_per_community = $3, communities_per_street = $4,
       replicate_size = $5, replicate_threshold = $6, freshness_months = $7
WHERE id = $1

-- name: sampler/set-district-rate
INSERT INTO wave_district_rates (wave_id, district_code, expected_rate) VALUES ($1, $2, $3)

-- name: sampler/set-assessment-weight
UPDATE waves SET assessment_weight = $2 WHERE id = $1

-- name: sampler/sampled-cases
-- A wave's drawn cases in the order drawn, for the sample file. Contacts
-- leave the database only when $2 asks for them.
SELECT c.id, c.mode, coalesce(c.stratum, '') AS stratum, c.inclusion_prob, c.replicate,
       CASE WHEN $2 THEN coalesce(c.phone, '') ELSE '' END AS phone,
       CASE WHEN $2 THEN coalesce(h.address, '') ELSE '' END AS address
FROM cases c LEFT JOIN household_frame h ON $2 AND h.id = c.household_id
WHERE c.wave_id = $1
ORDER BY c.id
