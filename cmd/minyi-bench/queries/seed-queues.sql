-- A wave of $3 telephone interviews by the interviewers $4, spread over the
-- districts and the last ten days, one in ten flagged for review: of those a
-- third too short, a third straight-lined, a third denied by the respondent
-- on a verification call-back. Every interview has its case and its
-- completing attempt; one in ten of the others was verified (confirmed).
WITH c AS (
    INSERT INTO cases (wave_id, district_code, stratum, replicate, mode, phone, status, final_code, attempts)
    SELECT $1, d.code, d.code, 1, 'phone', '1391' || lpad(g::text, 7, '0'), 'final', '1.1', 1
    FROM generate_series(1, $3) g
    JOIN (SELECT code, row_number() OVER (ORDER BY code) - 1 AS k, count(*) OVER () AS n FROM districts) d ON d.k = g % d.n
    RETURNING id, district_code
), n AS (
    SELECT c.id AS case_id, c.district_code, row_number() OVER (ORDER BY c.id) AS g FROM c
), iv AS (
    INSERT INTO interviews (wave_id, case_id, questionnaire_id, interviewer_id, district_code, mode, sex, age_group, answers, source, started_at, completed_at)
    SELECT $1, n.case_id, $2, ($4::bigint[])[1 + n.g % cardinality($4::bigint[])], n.district_code, 'phone', 1 + (n.g % 2), 1 + (n.g % 5),
           jsonb_build_object('s1', '1', 's2', '1', 'district', n.district_code, 'sex', (1 + n.g % 2)::text, 'age_group', (1 + n.g % 5)::text, 'urban', '1',
             'q01', a[1], 'q02', a[2], 'q03', a[3], 'q04', a[4], 'q05', a[5], 'q06', a[6], 'q07', a[7],
             'q08', a[8], 'q09', a[9], 'q10', a[10], 'q11', a[11], 'q12', a[12], 'q13', a[13]),
           'cati', t.done - CASE WHEN n.g % 30 = 0 THEN interval '60 seconds' ELSE interval '540 seconds' END, t.done
    FROM n
    CROSS JOIN LATERAL (SELECT now() - (n.g % 14400) * interval '60 seconds' AS done) t
    CROSS JOIN LATERAL (SELECT CASE WHEN n.g % 30 = 10 THEN array_fill('3'::text, ARRAY[13])
                                    ELSE ARRAY['1', '2', '3', '4', '5', '2', '3', '4', '1', '2', '3', '4', '5'] END AS a) x
    RETURNING id, case_id, interviewer_id, completed_at
), att AS (
    INSERT INTO attempts (case_id, interviewer_id, outcome, aapor_code, final, created_at)
    SELECT case_id, interviewer_id, 'complete', '1.1', true, completed_at FROM iv
)
INSERT INTO verification_calls (wave_id, interview_id, case_id, interviewer_id, phone, status, result, attempts, next_at, verified_by, created_at, updated_at)
SELECT $1, iv.id, iv.case_id, iv.interviewer_id, '13900000000', 'done',
       CASE WHEN n.g % 30 = 20 THEN 'not_confirmed' ELSE 'confirmed' END, 1, iv.completed_at + interval '1 hour',
       ($4::bigint[])[1 + (n.g + 1) % cardinality($4::bigint[])], iv.completed_at, iv.completed_at + interval '1 hour'
FROM iv JOIN n ON n.case_id = iv.case_id
WHERE n.g % 10 = 0 OR n.g % 30 = 20
