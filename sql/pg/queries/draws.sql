-- Sample draws, their verification and replicates (sampler/draw*.go,
-- sampler/verify.go, sampler/replicates.go).

-- name: draws/lock-wave
SELECT 1 FROM waves WHERE name = $1 FOR UPDATE

-- name: draws/lock-phone-frame
-- Writers of the frame wait until the draw has read it, so that the recorded
-- checksum is that of the rows drawn from.
LOCK TABLE phone_frame IN SHARE MODE

-- name: draws/lock-household-frame
LOCK TABLE household_frame IN SHARE MODE

-- name: draws/now
SELECT now()

-- name: draws/wave-design
SELECT door_share, households_per_community, communities_per_street,
       replicate_size, replicate_threshold, freshness_months
FROM waves WHERE id = $1

-- name: draws/frame-versions
SELECT kind, version, checksum FROM frame_versions ORDER BY kind

-- name: draws/stratum-sizes
-- The sizes of the strata $1 ('' for numbers without a district hint), in
-- one round trip. Ordinals are dense 1..N within a stratum, so N is the
-- largest ordinal, found at the end of the stratum's index without reading
-- the stratum.
SELECT s.stratum, coalesce((SELECT max(p.ordinal) FROM phone_frame p WHERE coalesce(p.district_code, '') = s.stratum), 0) AS n
FROM unnest($1::text[]) AS s(stratum)

-- name: draws/phones-by-ordinal
SELECT id, ordinal, phone FROM phone_frame
WHERE coalesce(district_code, '') = $1 AND ordinal = ANY($2::bigint[])
ORDER BY ordinal

-- name: draws/recent-phones
-- Numbers among $1 interviewed (a complete, or an interview row) in another
-- wave drawn in the $4 months up to $3.
SELECT DISTINCT c.phone FROM cases c JOIN draws d ON d.wave_id = c.wave_id
WHERE c.phone = ANY($1::text[]) AND c.wave_id <> $2
  AND d.created_at <= $3 AND d.created_at >= $3::timestamptz - make_interval(months => $4::int)
  AND (c.final_code = '1.1' OR EXISTS (SELECT 1 FROM interviews i WHERE i.case_id = c.id))

-- name: draws/door-streets
-- Streets of a district with their PPS size measure: the stated street size,
-- else the number of households listed. The order is the implicit
-- stratification of the systematic draw; COLLATE "C" keeps it the same on
-- every server.
SELECT street AS name, coalesce(max(street_size), count(*))::float8 AS size
FROM household_frame WHERE district_code = $1
GROUP BY street ORDER BY street COLLATE "C"

-- name: draws/door-communities
SELECT community AS name, coalesce(max(community_size), count(*))::float8 AS size
FROM household_frame WHERE district_code = $1 AND street = $2
GROUP BY community ORDER BY community COLLATE "C"

-- name: draws/door-households
-- Households of one community in list order, each flagged when it was
-- interviewed in another wave drawn in the $5 months up to $6 (0 = no
-- freshness rule).
SELECT h.id, h.ordinal,
       ($5::int > 0 AND EXISTS (
            SELECT 1 FROM cases c JOIN draws d ON d.wave_id = c.wave_id
            WHERE c.household_id = h.id AND c.wave_id <> $4
              AND d.created_at <= $6 AND d.created_at >= $6::timestamptz - make_interval(months => $5::int)
              AND (c.final_code = '1.1' OR EXISTS (SELECT 1 FROM interviews i WHERE i.case_id = c.id)))) AS excluded
FROM household_frame h
WHERE h.district_code = $1 AND h.street = $2 AND h.community = $3
ORDER BY h.ordinal

-- name: draws/insert-draw
INSERT INTO draws (wave_id, algorithm, version, seed, frame_checksum, door_algorithm, door_version, city_released, city_excluded)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)

-- name: draws/get-draw
SELECT algorithm, version, seed, frame_checksum, coalesce(door_algorithm, '') AS door_algorithm,
       coalesce(door_version, 0) AS door_version, city_released, city_excluded, created_at
FROM draws WHERE wave_id = $1

-- name: draws/insert-allocation
-- Every district's allocation in one statement: $2..$8 are parallel arrays.
INSERT INTO allocations (wave_id, district_code, population, target, released, door_target, door_released, excluded)
SELECT $1, x.district_code, x.population, x.target, x.released, x.door_target, x.door_released, x.excluded
FROM unnest($2::text[], $3::bigint[], $4::int[], $5::int[], $6::int[], $7::int[], $8::int[])
     AS x(district_code, population, target, released, door_target, door_released, excluded)

-- name: draws/list-allocations
SELECT a.district_code, d.name, a.population, a.target, a.released, a.door_target, a.door_released, a.excluded
FROM allocations a JOIN districts d ON d.code = a.district_code WHERE a.wave_id = $1 ORDER BY a.district_code

-- name: draws/release-phone-cases
-- Every stratum's numbers in one statement, each found in the frame by its
-- stratum and ordinal: $2..$5 are parallel arrays (stratum, ordinal,
-- replicate, inclusion probability), strata in draw order and each
-- stratum's ordinals in frame order, which is the order of the ids. The
-- LIMIT keeps each look-up a probe of the stratum-and-ordinal index,
-- whatever the planner makes of the frame's statistics: a hash join would
-- read the whole frame. It returns how many cases each stratum got.
WITH released AS (
    INSERT INTO cases (wave_id, district_code, stratum, mode, phone, replicate, inclusion_prob)
    SELECT $1, nullif(x.stratum, ''), x.stratum, 'phone', p.phone, x.replicate, x.prob
    FROM unnest($2::text[], $3::bigint[], $4::int[], $5::float8[]) WITH ORDINALITY AS x(stratum, ordinal, replicate, prob, i)
    CROSS JOIN LATERAL (SELECT f.phone FROM phone_frame f
                        WHERE coalesce(f.district_code, '') = x.stratum AND f.ordinal = x.ordinal LIMIT 1) p
    ORDER BY x.i
    RETURNING stratum
)
SELECT stratum, count(*) AS n FROM released GROUP BY stratum

-- name: draws/release-door-cases
INSERT INTO cases (wave_id, district_code, stratum, mode, household_id, psu, inclusion_prob)
SELECT $1, $2, $2, 'door', x.household_id, x.psu, x.prob
FROM unnest($3::bigint[], $4::text[], $5::float8[]) WITH ORDINALITY AS x(household_id, psu, prob, i)
ORDER BY x.i

-- name: draws/insert-drawn-units
INSERT INTO drawn_units (wave_id, stage, district_code, street, community, household_frame_id, size, prob, overall_prob, certainty)
SELECT $1, x.stage, x.district_code, x.street, x.community, nullif(x.hid, 0), x.size, x.prob, x.overall_prob, x.certainty
FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::float8[], $8::float8[], $9::float8[], $10::bool[])
     AS x(stage, district_code, street, community, hid, size, prob, overall_prob, certainty)

-- name: draws/stored-cases
SELECT id, coalesce(stratum, coalesce(district_code, '')) AS stratum, mode, coalesce(phone, '') AS phone,
       coalesce(household_id, 0) AS household_id, coalesce(replicate, 0) AS replicate,
       coalesce(psu, '') AS psu, coalesce(inclusion_prob, 0) AS inclusion_prob
FROM cases WHERE wave_id = $1

-- name: draws/stored-units
SELECT stage, district_code, street, community, coalesce(household_frame_id, 0) AS household_frame_id,
       size, prob, overall_prob, certainty
FROM drawn_units WHERE wave_id = $1

-- name: draws/insert-replicates
-- Replicates 1..n of every stratum ($2/$3: strata and their n); the first
-- of each opens with the draw.
INSERT INTO replicates (wave_id, district_code, number, opened_at, opened_by)
SELECT $1, x.stratum, g, CASE WHEN g = 1 THEN now() END, CASE WHEN g = 1 THEN 'draw' END
FROM unnest($2::text[], $3::int[]) AS x(stratum, n), generate_series(1, x.n) g

-- name: draws/list-replicates
SELECT r.district_code, r.number, r.opened_at, coalesce(r.opened_by, '') AS opened_by,
       count(c.id) AS cases, count(c.id) FILTER (WHERE c.status = 'final') AS final
FROM replicates r
LEFT JOIN cases c ON c.wave_id = r.wave_id AND c.stratum = r.district_code AND c.replicate = r.number
WHERE r.wave_id = $1
GROUP BY r.district_code, r.number, r.opened_at, r.opened_by
ORDER BY r.district_code, r.number

-- name: draws/open-next-replicates
-- Opens, in every stratum whose open replicates have at least the share $2
-- of their cases final, the lowest-numbered replicate still closed. Two
-- callers at once open it once: the second waits on the row lock and then
-- finds it open.
WITH progress AS (
    SELECT r.district_code, count(*) AS cases, count(*) FILTER (WHERE c.status = 'final') AS final
    FROM replicates r
    JOIN cases c ON c.wave_id = r.wave_id AND c.stratum = r.district_code AND c.replicate = r.number
    WHERE r.wave_id = $1 AND r.opened_at IS NOT NULL
    GROUP BY r.district_code
), due AS (
    SELECT p.district_code,
           (SELECT min(n.number) FROM replicates n
             WHERE n.wave_id = $1 AND n.district_code = p.district_code AND n.opened_at IS NULL) AS number
    FROM progress p
    WHERE p.final::float8 >= $2::float8 * p.cases
)
UPDATE replicates r SET opened_at = now(), opened_by = 'threshold'
FROM due
WHERE r.wave_id = $1 AND r.district_code = due.district_code AND r.number = due.number AND r.opened_at IS NULL
RETURNING r.district_code, r.number

-- name: draws/open-replicate
-- Opens the lowest-numbered closed replicate of one stratum by hand.
UPDATE replicates r SET opened_at = now(), opened_by = 'hand'
WHERE (r.wave_id, r.district_code, r.number) = (
    SELECT wave_id, district_code, min(number) FROM replicates
    WHERE wave_id = $1 AND district_code = $2 AND opened_at IS NULL
    GROUP BY wave_id, district_code)
  AND r.opened_at IS NULL
RETURNING r.district_code, r.number

-- name: draws/wave-district-rates
SELECT district_code, expected_rate FROM wave_district_rates WHERE wave_id = $1
