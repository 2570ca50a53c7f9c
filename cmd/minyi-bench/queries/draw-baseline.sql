-- The ordinal-join draw: the numbers at the ordinals $3 of the strata $2
-- ('' = no district hint) written as fresh telephone cases of wave $1 with
-- the replicates $4 and inclusion probabilities $5, in one statement.
INSERT INTO cases (wave_id, district_code, stratum, mode, phone, replicate, inclusion_prob)
SELECT $1, p.district_code, x.stratum, 'phone', p.phone, x.replicate, x.prob
FROM unnest($2::text[], $3::bigint[], $4::int[], $5::float8[]) AS x(stratum, ordinal, replicate, prob)
JOIN phone_frame p ON coalesce(p.district_code, '') = x.stratum AND p.ordinal = x.ordinal
