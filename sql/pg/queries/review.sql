-- name: survey/get-interview
SELECT i.id, i.wave_id, w.name AS wave_name, i.case_id, i.questionnaire_id, i.interviewer_id,
       coalesce(u.username, '') AS interviewer, i.district_code, i.mode, i.source, i.partial, i.answers,
       i.started_at, i.completed_at, i.review_status, i.review_note, coalesce(r.username, '') AS reviewed_by,
       i.reviewed_at, i.row_version
FROM interviews i JOIN waves w ON w.id = i.wave_id
LEFT JOIN users u ON u.id = i.interviewer_id LEFT JOIN users r ON r.id = i.reviewed_by
WHERE i.id = $1

-- name: survey/lock-interview
SELECT 1 FROM interviews WHERE id = $1 FOR UPDATE

-- name: survey/interview-changes
SELECT c.field, c.old_value, c.new_value, c.note, u.username AS changed_by, c.changed_at
FROM interview_changes c JOIN users u ON u.id = c.changed_by
WHERE c.interview_id = $1 ORDER BY c.id

-- name: survey/set-review
-- Each change moves the interview's version on (optimistic locking).
UPDATE interviews SET review_status = $2, review_note = $3, reviewed_by = $4, reviewed_at = now(),
       row_version = row_version + 1
WHERE id = $1

-- name: survey/set-answers
UPDATE interviews SET answers = $2, district_code = $3, sex = $4, age_group = $5, review_status = $6,
       row_version = row_version + 1
WHERE id = $1

-- name: survey/add-change
INSERT INTO interview_changes (interview_id, field, old_value, new_value, note, changed_by)
VALUES ($1, $2, $3, $4, $5, $6)

-- name: survey/returned-interviews
SELECT i.id, coalesce(u.username, '') AS interviewer, i.district_code, i.review_status, i.review_note,
       i.reviewed_at, i.completed_at
FROM interviews i LEFT JOIN users u ON u.id = i.interviewer_id
WHERE i.interviewer_id = $1 AND i.review_status = 'returned'
ORDER BY i.reviewed_at, i.id

-- name: survey/reviewed-interviews
SELECT i.id, coalesce(u.username, '') AS interviewer, i.district_code, i.review_status, i.review_note,
       i.reviewed_at, i.completed_at
FROM interviews i LEFT JOIN users u ON u.id = i.interviewer_id
WHERE i.wave_id = $1 AND i.review_status <> 'none'
ORDER BY i.reviewed_at DESC NULLS LAST, i.id DESC
LIMIT 1000

-- name: survey/insert-paradata
INSERT INTO interview_paradata (interview_id, device, user_agent, question_ms, changes)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT DO NOTHING

-- name: survey/get-paradata
SELECT device, user_agent, question_ms, changes FROM interview_paradata WHERE interview_id = $1

-- name: survey/wave-paradata
SELECT i.id, coalesce(u.username, '') AS interviewer, i.mode, i.started_at, i.completed_at,
       coalesce(p.device, '') AS device, coalesce(p.question_ms, '{}') AS question_ms, coalesce(p.changes, '[]') AS changes
FROM interviews i LEFT JOIN interview_paradata p ON p.interview_id = i.id LEFT JOIN users u ON u.id = i.interviewer_id
WHERE i.wave_id = $1 AND i.source <> 'import'
ORDER BY i.id
