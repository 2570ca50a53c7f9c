-- Census margins of every district for the microdata export benchmark, so
-- that its weights are raked as in a real wave: 51% men, five equal age
-- groups, 60% urban.
INSERT INTO margins (district_code, variable, category, population)
SELECT code, 'sex', c, CASE c WHEN 1 THEN population * 51 / 100 ELSE population - population * 51 / 100 END
FROM districts, generate_series(1, 2) c
UNION ALL
SELECT code, 'age_group', c, CASE WHEN c < 5 THEN population / 5 ELSE population - 4 * (population / 5) END
FROM districts, generate_series(1, 5) c
UNION ALL
SELECT code, 'urban', c, CASE c WHEN 1 THEN population * 6 / 10 ELSE population - population * 6 / 10 END
FROM districts, generate_series(1, 2) c
ON CONFLICT DO NOTHING
