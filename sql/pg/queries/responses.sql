-- Responses imports (survey/import.go). The statements run inside the
-- import's session, where the temporary staging table shadows the
-- permanent response_import_rows (see migration 0103).

-- name: responses/create-staging
CREATE TEMP TABLE response_import_rows (LIKE response_import_rows) ON COMMIT DROP

-- name: responses/repeated-ids
-- Rows whose interview id an earlier row of the file has, with that row's
-- line: the first $1 by line, and how many there are in all.
WITH r AS (
    SELECT line, interview_id, min(line) OVER (PARTITION BY interview_id) AS first_line
    FROM response_import_rows
)
SELECT line, interview_id, first_line, count(*) OVER () AS total
FROM r WHERE line > first_line
ORDER BY line LIMIT $1

-- name: responses/ids-in-wave
-- Rows whose interview id is already in the wave $1.
SELECT r.line, r.interview_id, count(*) OVER () AS total
FROM response_import_rows r JOIN interviews i ON i.wave_id = $1 AND i.external_id = r.interview_id
ORDER BY r.line LIMIT $2

-- name: responses/median-weight
-- The median of the weights the file gives (NULL when it gives none).
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY weight) FROM response_import_rows WHERE weight IS NOT NULL

-- name: responses/weights-outside
-- Rows whose weight is outside [$1, $2].
SELECT line, weight, count(*) OVER () AS total
FROM response_import_rows WHERE weight < $1 OR weight > $2
ORDER BY line LIMIT $3

-- name: responses/staged
-- The staged rows after line $1, a batch at a time, in file order.
SELECT line, interview_id, district_code, mode, coalesce(psu, '') AS psu, coalesce(weight, 0) AS weight,
       sex, age_group, answers
FROM response_import_rows WHERE line > $1
ORDER BY line LIMIT $2
