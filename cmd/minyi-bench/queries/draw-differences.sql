-- How many telephone cases of wave $2 wave $1 does not have, compared on
-- everything a draw writes.
SELECT count(*) FROM (
    SELECT district_code, stratum, phone, replicate, inclusion_prob, status FROM cases WHERE wave_id = $2 AND mode = 'phone'
    EXCEPT ALL
    SELECT district_code, stratum, phone, replicate, inclusion_prob, status FROM cases WHERE wave_id = $1 AND mode = 'phone'
) d
