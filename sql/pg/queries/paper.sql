-- name: survey/paper-form-upsert
-- Takes the form's row lock, creating the form at its first entry, so that
-- two operators keying the same form at once are ordered.
INSERT INTO paper_forms (wave_id, form_number) VALUES ($1, $2)
ON CONFLICT (wave_id, form_number) DO UPDATE SET updated_at = now()
RETURNING id, status, coalesce(interview_id, 0) AS interview_id

-- name: survey/paper-entries
SELECT e.entry, e.operator_id, u.username AS operator, e.answers, e.entered_at
FROM paper_entries e JOIN users u ON u.id = e.operator_id
WHERE e.form_id = $1 ORDER BY e.entry

-- name: survey/paper-entry-insert
INSERT INTO paper_entries (form_id, entry, operator_id, answers) VALUES ($1, $2, $3, $4)

-- name: survey/paper-form-set
UPDATE paper_forms SET status = $2, interview_id = $3, resolved_by = $4, updated_at = now() WHERE id = $1

-- name: survey/paper-form
-- With the field interviewer the form's number was issued to ('' for a
-- form keyed before numbers were issued).
SELECT f.id, f.wave_id, w.name AS wave_name, f.form_number, f.status, coalesce(f.interview_id, 0) AS interview_id, f.updated_at,
       coalesce(u.username, '') AS interviewer
FROM paper_forms f JOIN waves w ON w.id = f.wave_id
LEFT JOIN paper_form_numbers n ON n.wave_id = f.wave_id AND n.form_number = f.form_number
LEFT JOIN users u ON u.id = n.interviewer_id
WHERE f.id = $1

-- name: survey/paper-form-lock
SELECT status FROM paper_forms WHERE id = $1 FOR UPDATE

-- name: survey/paper-forms
SELECT f.id, f.wave_id, w.name AS wave_name, f.form_number, f.status, coalesce(f.interview_id, 0) AS interview_id, f.updated_at,
       coalesce(u.username, '') AS interviewer
FROM paper_forms f JOIN waves w ON w.id = f.wave_id
LEFT JOIN paper_form_numbers n ON n.wave_id = f.wave_id AND n.form_number = f.form_number
LEFT JOIN users u ON u.id = n.interviewer_id
WHERE ($1 = 0 OR f.id IN (SELECT form_id FROM paper_entries WHERE operator_id = $1))
ORDER BY (f.status = 'mismatch') DESC, f.updated_at DESC
LIMIT 500

-- name: survey/paper-form-status
SELECT status FROM paper_forms WHERE wave_id = $1 AND form_number = $2
