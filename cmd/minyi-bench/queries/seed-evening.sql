-- A wave in the middle of its evening rather than at its first call: one
-- case in five was tried once without an answer and comes due for its
-- retry over the next two hours (some already are), one in fifty has an
-- appointment over the same hours; the rest are still fresh. Each tried
-- case has its attempt, by interviewer $2.
WITH tried AS (
    UPDATE cases SET status = CASE WHEN id % 50 = 0 THEN 'appointment' ELSE 'pending' END,
                     attempts = 1, dayparts_tried = 4, reached_code = CASE WHEN id % 50 = 0 THEN '2.21' END,
                     next_at = now() - interval '5 minutes' + (id % 997) * interval '7.5 seconds', updated_at = now()
    WHERE wave_id = $1 AND id % 5 = 0
    RETURNING id, status, next_at
)
INSERT INTO attempts (case_id, interviewer_id, outcome, aapor_code, final, appointment_at)
SELECT id, $2, CASE status WHEN 'appointment' THEN 'appointment' ELSE 'no_answer' END,
       CASE status WHEN 'appointment' THEN '2.21' ELSE '3.13' END, false,
       CASE status WHEN 'appointment' THEN next_at END
FROM tried
