-- name: questionnaires/lock-name
-- Serialises uploads of one questionnaire name, so that two uploads never
-- race for the same next version number.
SELECT pg_advisory_xact_lock(hashtext('questionnaire:' || $1))

-- name: questionnaires/by-name-version
SELECT id, definition FROM questionnaires WHERE name = $1 AND version = $2

-- name: questionnaires/latest
SELECT id, definition FROM questionnaires WHERE name = $1 ORDER BY version DESC LIMIT 1

-- name: questionnaires/insert
INSERT INTO questionnaires (name, version, definition, created_by) VALUES ($1, $2, $3, $4) RETURNING id

-- name: questionnaires/list
SELECT q.id, q.name, q.version, q.definition->'title'->>'zh' AS title_zh,
       coalesce(q.definition->'title'->>'en', '') AS title_en, q.created_at,
       coalesce(u.username, '') AS created_by,
       (SELECT count(*) FROM interviews i WHERE i.questionnaire_id = q.id) AS interviews,
       (SELECT count(*) FROM waves w WHERE w.questionnaire_id = q.id) AS waves
FROM questionnaires q LEFT JOIN users u ON u.id = q.created_by
ORDER BY q.name, q.version DESC
LIMIT $1

-- name: questionnaires/info
SELECT q.id, q.name, q.version, q.definition->'title'->>'zh' AS title_zh,
       coalesce(q.definition->'title'->>'en', '') AS title_en, q.created_at,
       coalesce(u.username, '') AS created_by,
       (SELECT count(*) FROM interviews i WHERE i.questionnaire_id = q.id) AS interviews,
       (SELECT count(*) FROM waves w WHERE w.questionnaire_id = q.id) AS waves
FROM questionnaires q LEFT JOIN users u ON u.id = q.created_by
WHERE q.id = $1

-- name: questionnaires/interview-count
SELECT count(*) FROM interviews WHERE questionnaire_id = $1
