-- The stratum, frame ordinal, replicate and inclusion probability of each
-- telephone case of wave $1, in the order the draw wrote them.
SELECT c.stratum, p.ordinal, c.replicate, c.inclusion_prob
FROM cases c JOIN phone_frame p ON p.phone = c.phone
WHERE c.wave_id = $1 AND c.mode = 'phone'
ORDER BY c.id
