-- The bare aggregate the scores benchmark is measured against.
SELECT district_code,
       avg((answers->>'q01')::int) AS q01, avg((answers->>'q02')::int) AS q02, avg((answers->>'q03')::int) AS q03,
       avg((answers->>'q04')::int) AS q04, avg((answers->>'q05')::int) AS q05, avg((answers->>'q06')::int) AS q06,
       avg((answers->>'q07')::int) AS q07, avg((answers->>'q08')::int) AS q08, avg((answers->>'q09')::int) AS q09,
       avg((answers->>'q10')::int) AS q10, avg((answers->>'q11')::int) AS q11, avg((answers->>'q12')::int) AS q12,
       avg((answers->>'q13')::int) AS q13
FROM interviews WHERE wave_id = $1 GROUP BY district_code
