-- $3 completed interviews of the default questionnaire spread over the
-- districts, with demographics and pseudo-random answer codes, for the
-- microdata export benchmark.
WITH d AS (SELECT array_agg(code ORDER BY code) AS codes FROM districts)
INSERT INTO interviews (wave_id, questionnaire_id, district_code, mode, answers, source, completed_at)
SELECT $1, $2, d.codes[1 + g % cardinality(d.codes)], CASE WHEN g % 5 = 0 THEN 'door' ELSE 'phone' END,
       jsonb_build_object('s1', '1', 's2', '1', 'district', d.codes[1 + g % cardinality(d.codes)],
           'sex', (1 + (g / 40) % 2)::text, 'age_group', (1 + (g / 80) % 5)::text, 'urban', (1 + (g / 400) % 2)::text,
           'q01', (ARRAY['1','2','3','4','5','8'])[1 + (g * 7) % 6], 'q02', (ARRAY['1','2','3','4','5','8'])[1 + (g * 11) % 6],
           'q03', (ARRAY['1','2','3','4','5','8'])[1 + (g * 13) % 6], 'q04', (ARRAY['1','2','3','4','5','8'])[1 + (g * 17) % 6],
           'q05', (ARRAY['1','2','3','4','5','8'])[1 + (g * 19) % 6], 'q06', (ARRAY['1','2','3','4','5','8'])[1 + (g * 23) % 6],
           'q07', (ARRAY['1','2','3','4','5','8'])[1 + (g * 29) % 6], 'q08', (ARRAY['1','2','3','4','5','8'])[1 + (g * 31) % 6],
           'q09', (ARRAY['1','2','3','4','5','8'])[1 + (g * 37) % 6], 'q10', (ARRAY['1','2','3','4','5','8'])[1 + (g * 41) % 6],
           'q11', (ARRAY['1','2','3','4','5','8'])[1 + (g * 43) % 6], 'q12', (ARRAY['1','2','3','4','5','8'])[1 + (g * 47) % 6],
           'q13', (ARRAY['1','2','3','4','5','9'])[1 + (g * 53) % 6]),
       'import', now()
FROM generate_series(1, $3) g, d
