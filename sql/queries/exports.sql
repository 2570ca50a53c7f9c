-- name: survey/weight-cells
-- A wave's interviews grouped by what the weighting rules look at, for the
-- microdata export's weights (the categories as stored, '' when absent).
SELECT district_code, coalesce(answers->>'sex', '') AS sex, coalesce(answers->>'age_group', '') AS age_group,
       coalesce(answers->>'urban', '') AS urban,
       count(*) FILTER (WHERE weight IS NULL) AS computed, count(*) AS all_n
FROM interviews WHERE wave_id = $1
GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
