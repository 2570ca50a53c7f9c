-- name: sampler/list-frame-imports
SELECT id, kind, file_name, encoding, status, coalesce(error, '') AS error, started_at, finished_at,
       read, kept, fixed, rejected, duplicates, problems
FROM frame_imports ORDER BY started_at DESC, id DESC LIMIT $1

-- name: sampler/get-frame-import
SELECT id, kind, file_name, encoding, status, coalesce(error, '') AS error, started_at, finished_at,
       read, kept, fixed, rejected, duplicates, problems
FROM frame_imports WHERE id = $1

-- name: sampler/household-frame-sizes
SELECT district_code AS stratum, count(*) AS n, count(DISTINCT street) AS streets, count(DISTINCT (street, community)) AS communities
FROM household_frame GROUP BY 1 ORDER BY 1
