-- name: sampler/upsert-margin
INSERT INTO margins (district_code, variable, category, population) VALUES ($1, $2, $3, $4)
ON CONFLICT (district_code, variable, category) DO UPDATE SET population = excluded.population, updated_at = now()
WHERE margins.population IS DISTINCT FROM excluded.population

-- name: sampler/list-margins
SELECT district_code, variable, category, population FROM margins ORDER BY district_code, variable, category
