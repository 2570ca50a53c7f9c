-- $3 completed interviews in each of the first $4 districts, a fifth of
-- them door to door in 60 communities per district, with random answers:
-- mostly satisfied, some don't know or refused.
INSERT INTO interviews (wave_id, questionnaire_id, district_code, mode, psu, sex, age_group, answers, source)
SELECT $1, $2, d.code, CASE WHEN g % 5 = 0 THEN 'door' ELSE 'phone' END, CASE WHEN g % 5 = 0 THEN 'c' || (g % 60) END,
       r.sex, r.age,
       jsonb_build_object('sex', r.sex::text, 'age_group', r.age::text, 'urban', (1 + (random() < 0.3)::int)::text,
         'q01', c[1], 'q02', c[2], 'q03', c[3], 'q04', c[4], 'q05', c[5], 'q06', c[6], 'q07', c[7],
         'q08', c[8], 'q09', c[9], 'q10', c[10], 'q11', c[11], 'q12', c[12], 'q13', c[13]),
       'import'
FROM (SELECT code FROM districts ORDER BY code LIMIT $4) d
CROSS JOIN generate_series(1, $3) g
CROSS JOIN LATERAL (SELECT 1 + (random() < 0.49)::int AS sex, 1 + floor(random() * 5)::int AS age,
    ARRAY(SELECT (ARRAY['1','2','2','2','3','3','3','4','5','8','9','2'])[1 + floor(random() * 12)::int] || left(g::text, 0)
          FROM generate_series(1, 13)) AS c
    WHERE g IS NOT NULL) r
