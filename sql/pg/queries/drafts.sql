-- name: dialer/open-draft
-- Opening the form starts the draft; opening it again resumes it. The
-- interviewer holding the case takes the draft over: a case handed on after
-- its lease ran out keeps the answers already given.
INSERT INTO interview_drafts (case_id, interviewer_id, key, started_at)
SELECT c.id, $2, $3, $4 FROM cases c WHERE c.id = $1 AND c.held_by = $2 AND c.status <> 'final'
ON CONFLICT (case_id) DO UPDATE SET interviewer_id = EXCLUDED.interviewer_id
RETURNING case_id, interviewer_id, answers, current_question, key, started_at, updated_at, version, paradata

-- name: dialer/save-draft
-- Written only over the version the page last saw: a stale page gets no row.
-- A write without paradata (a page without its script) keeps what is there.
UPDATE interview_drafts d
SET answers = $4, current_question = $5, interviewer_id = $2, version = d.version + 1, updated_at = now(),
    paradata = CASE WHEN $6::jsonb = '{}'::jsonb THEN d.paradata ELSE $6::jsonb END
FROM cases c
WHERE d.case_id = $1 AND c.id = d.case_id AND c.held_by = $2 AND c.status <> 'final' AND d.version = $3
RETURNING d.version

-- name: dialer/held-draft-version
SELECT d.version FROM interview_drafts d JOIN cases c ON c.id = d.case_id
WHERE d.case_id = $1 AND c.held_by = $2 AND c.status <> 'final'

-- name: dialer/get-draft
SELECT case_id, interviewer_id, answers, current_question, key, started_at, updated_at, version, paradata
FROM interview_drafts WHERE case_id = $1

-- name: dialer/lock-draft
SELECT case_id, interviewer_id, answers, current_question, key, started_at, updated_at, version, paradata
FROM interview_drafts WHERE case_id = $1 FOR UPDATE

-- name: dialer/delete-draft
DELETE FROM interview_drafts WHERE case_id = $1

-- name: dialer/transaction-time
-- The database's time of the transaction: the completed_at that an
-- interview stored in it gets.
SELECT now()
