-- The verification call-back list of the supervision page as it was read
-- before it was paged from verification_calls alone: every call-back of
-- the wave joined to its interview and names, then counted and sorted.
-- Part of the supervision page's baseline.
SELECT v.id, v.interview_id, v.case_id, u.username AS interviewer, v.status, coalesce(v.result, '') AS result, v.attempts,
       v.next_at, coalesce(vb.username, '') AS verified_by, v.note, v.updated_at, count(*) OVER () AS total
FROM verification_calls v JOIN users u ON u.id = v.interviewer_id LEFT JOIN users vb ON vb.id = v.verified_by
JOIN interviews i ON i.id = v.interview_id
WHERE v.wave_id = $1
  AND ($2::text = '' OR i.district_code = $2)
  AND ($3::bigint = 0 OR v.interviewer_id = $3)
  AND ($4::timestamptz IS NULL OR v.created_at >= $4)
  AND ($5::timestamptz IS NULL OR v.created_at < $5)
  AND ($6::text = '' OR ($6 = 'open' AND v.result IS NULL) OR v.result = $6)
ORDER BY v.status DESC, v.next_at, v.id
LIMIT $7 OFFSET $8
