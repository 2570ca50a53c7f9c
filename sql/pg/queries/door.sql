-- name: door/communities
-- The communities of a wave's door-to-door sample with their households,
-- how many are finished and completed, and who works them now.
SELECT h.district_code, coalesce(d.name, h.district_code) AS district_name, h.street, h.community,
       count(*) AS households,
       count(*) FILTER (WHERE c.status = 'final') AS final,
       count(*) FILTER (WHERE c.final_code = '1.1') AS completes,
       fa.interviewer_id, coalesce(u.username, '') AS interviewer
FROM cases c
JOIN household_frame h ON h.id = c.household_id
LEFT JOIN districts d ON d.code = h.district_code
LEFT JOIN field_assignments fa ON fa.wave_id = c.wave_id AND fa.district_code = h.district_code
     AND fa.street = h.street AND fa.community = h.community
LEFT JOIN users u ON u.id = fa.interviewer_id
WHERE c.wave_id = $1 AND c.mode = 'door'
GROUP BY h.district_code, d.name, h.street, h.community, fa.interviewer_id, u.username
ORDER BY h.district_code, h.street, h.community

-- name: door/interviewers
SELECT id, username, display_name FROM users
WHERE role = 'field_interviewer' AND active ORDER BY username

-- name: door/check-interviewer
SELECT id FROM users WHERE id = $1 AND role = 'field_interviewer' AND active

-- name: door/upsert-assignment
-- Returns nothing when the community has no door-to-door case in the wave,
-- so that a made-up community is not recorded as assigned.
INSERT INTO field_assignments (wave_id, district_code, street, community, interviewer_id, assigned_by)
SELECT $1, $2, $3, $4, $5, $6
WHERE EXISTS (SELECT 1 FROM cases c JOIN household_frame h ON h.id = c.household_id
              WHERE c.wave_id = $1 AND c.mode = 'door' AND h.district_code = $2 AND h.street = $3 AND h.community = $4)
ON CONFLICT (wave_id, district_code, street, community)
DO UPDATE SET interviewer_id = EXCLUDED.interviewer_id, assigned_by = EXCLUDED.assigned_by, assigned_at = now()
RETURNING interviewer_id

-- name: door/assign-cases
-- Only unfinished cases move: a finished case stays with whoever finished
-- it. A case held for an interview in progress is let go, so that the
-- interviewer it was taken from can no longer save into it.
UPDATE cases c SET assigned_to = $5, held_by = NULL, held_until = NULL, updated_at = now()
FROM household_frame h
WHERE h.id = c.household_id AND c.wave_id = $1 AND c.mode = 'door' AND c.status <> 'final'
  AND h.district_code = $2 AND h.street = $3 AND h.community = $4
  AND c.assigned_to IS DISTINCT FROM $5

-- name: door/households
-- A field interviewer's households in the waves where some are still to be
-- worked (or, when all are done, in their latest wave), in walking order:
-- community by community, then the listing order.
SELECT c.id AS case_id, c.wave_id, w.name AS wave_name, w.max_visits,
       h.district_code, coalesce(d.name, h.district_code) AS district_name, h.street, h.community,
       h.household_id, h.address, c.status, coalesce(c.final_code, '') AS final_code, c.attempts,
       c.held_by IS NOT NULL AND c.held_until > now() AS in_interview
FROM cases c
JOIN waves w ON w.id = c.wave_id
JOIN household_frame h ON h.id = c.household_id
LEFT JOIN districts d ON d.code = h.district_code
WHERE c.assigned_to = $1 AND c.mode = 'door'
  AND c.wave_id IN (SELECT wave_id FROM cases WHERE assigned_to = $1 AND mode = 'door' AND status <> 'final'
                    UNION SELECT max(wave_id) FROM cases WHERE assigned_to = $1 AND mode = 'door')
ORDER BY w.id DESC, h.district_code, h.street, h.community, h.ordinal

-- name: door/household
-- With the paper form number issued to the household for its interviewer.
SELECT c.id AS case_id, c.wave_id, w.name AS wave_name, w.max_visits,
       h.district_code, coalesce(d.name, h.district_code) AS district_name, h.street, h.community,
       h.household_id, h.address, c.status, coalesce(c.final_code, '') AS final_code, c.attempts,
       c.held_by IS NOT NULL AND c.held_until > now() AS in_interview,
       coalesce(n.form_number, '') AS form_number
FROM cases c
JOIN waves w ON w.id = c.wave_id
JOIN household_frame h ON h.id = c.household_id
LEFT JOIN districts d ON d.code = h.district_code
LEFT JOIN paper_form_numbers n ON n.case_id = c.id AND n.interviewer_id = $2
WHERE c.id = $1 AND c.assigned_to = $2 AND c.mode = 'door'

-- name: door/visits
-- The visits to a field interviewer's households (of the waves listed).
SELECT a.case_id, a.outcome, a.aapor_code, a.final, a.appointment_at, a.created_at, u.username
FROM attempts a JOIN cases c ON c.id = a.case_id JOIN users u ON u.id = a.interviewer_id
WHERE c.assigned_to = $1 AND c.mode = 'door' AND c.wave_id = ANY ($2::bigint[])
ORDER BY a.case_id, a.id

-- name: door/lock-case
-- The case row lock orders concurrent visits to one household.
SELECT c.id, c.status, c.attempts, w.max_visits
FROM cases c JOIN waves w ON w.id = c.wave_id
WHERE c.id = $1 AND c.assigned_to = $2 AND c.mode = 'door'
FOR UPDATE OF c

-- name: door/record-visit
-- The visit is stored at the time given, so that the day part it fell in
-- is the one the rules were checked against.
WITH attempt AS (
    INSERT INTO attempts (case_id, interviewer_id, outcome, aapor_code, final, created_at)
    VALUES ($1, $2, $3, $4, $5, $6)
)
UPDATE cases SET attempts = attempts + 1, status = $7, final_code = $8, next_at = NULL,
       held_by = NULL, held_until = NULL, updated_at = now()
WHERE id = $1

-- name: door/start-interview
-- The interviewer at the door takes the case for the questionnaire, which
-- works on held cases; a door case is never in the telephone queue, so the
-- longer lease keeps no one waiting.
UPDATE cases SET held_by = $2, held_until = now() + $3::interval, updated_at = now()
WHERE id = $1 AND assigned_to = $2 AND mode = 'door' AND status <> 'final'
RETURNING id

-- name: door/set-max-visits
UPDATE waves SET max_visits = $2 WHERE id = $1

-- name: door/max-visits
SELECT max_visits FROM waves WHERE id = $1

-- name: door/close-exhausted
-- A household left to visit again after its wave's last allowed visit ends
-- with the code given.
UPDATE cases c SET status = 'final', final_code = $2, next_at = NULL, held_by = NULL, held_until = NULL, updated_at = now()
FROM waves w
WHERE c.id = $1 AND w.id = c.wave_id AND c.mode = 'door' AND c.status <> 'final' AND c.attempts >= w.max_visits

-- name: door/households-without-form-number
-- The unfinished households of a wave assigned to an interviewer that have
-- no paper form number of theirs yet.
SELECT c.id FROM cases c
WHERE c.wave_id = $1 AND c.assigned_to = $2 AND c.mode = 'door' AND c.status <> 'final'
  AND NOT EXISTS (SELECT 1 FROM paper_form_numbers n WHERE n.case_id = c.id AND n.interviewer_id = $2)
ORDER BY c.id

-- name: door/issue-form-numbers
-- $1 and $3 are parallel arrays: numbers and the households they are for.
INSERT INTO paper_form_numbers (form_number, wave_id, case_id, interviewer_id, issued_by)
SELECT n, $2, c, $4, $5 FROM unnest($1::text[], $3::bigint[]) AS x(n, c)

-- name: door/issued-form
-- An issued paper form number with its household and field interviewer.
SELECT n.form_number, n.wave_id, w.name AS wave_name, n.case_id, n.interviewer_id, u.username AS interviewer,
       h.district_code, coalesce(d.name, h.district_code) AS district_name, h.street, h.community, h.household_id,
       coalesce(c.psu, '') AS psu, c.status, coalesce(c.final_code, '') AS final_code
FROM paper_form_numbers n
JOIN waves w ON w.id = n.wave_id
JOIN cases c ON c.id = n.case_id
JOIN household_frame h ON h.id = c.household_id
LEFT JOIN districts d ON d.code = h.district_code
JOIN users u ON u.id = n.interviewer_id
WHERE n.form_number = $1

-- name: door/lock-household
SELECT status, coalesce(final_code, '') AS final_code FROM cases WHERE id = $1 AND mode = 'door' FOR UPDATE

-- name: door/interviewed-on-paper
-- The household's interview was keyed from paper: it is finished as
-- interviewed by its field interviewer, and a questionnaire left open on a
-- device for it goes.
WITH attempt AS (
    INSERT INTO attempts (case_id, interviewer_id, outcome, aapor_code, final)
    VALUES ($1, $2, 'paper', '1.1', true)
), draft AS (
    DELETE FROM interview_drafts WHERE case_id = $1
)
UPDATE cases SET attempts = attempts + 1, status = 'final', final_code = '1.1', next_at = NULL,
       held_by = NULL, held_until = NULL, updated_at = now()
WHERE id = $1

-- name: door/visit-sheet
-- A field interviewer's unfinished households (of wave $2, or of every
-- wave when $2 is 0) with the paper form number issued to them for each,
-- in walking order.
SELECT c.id AS case_id, w.name AS wave_name, w.max_visits,
       h.district_code, coalesce(d.name, h.district_code) AS district_name, h.street, h.community,
       h.household_id, h.address, c.attempts, coalesce(n.form_number, '') AS form_number
FROM cases c
JOIN waves w ON w.id = c.wave_id
JOIN household_frame h ON h.id = c.household_id
LEFT JOIN districts d ON d.code = h.district_code
LEFT JOIN paper_form_numbers n ON n.case_id = c.id AND n.interviewer_id = $1
WHERE c.assigned_to = $1 AND c.mode = 'door' AND c.status <> 'final' AND ($2 = 0 OR c.wave_id = $2)
ORDER BY w.id DESC, h.district_code, h.street, h.community, h.ordinal
