-- name: workspace/team-waves
-- The wave each group calls, with what the calling page needs of it; a
-- wave that lost its telephone mode or its draw calls nothing.
SELECT t.team, t.wave_id, w.name AS wave_name, coalesce(u.username, '') AS set_by, t.set_at
FROM team_waves t JOIN waves w ON w.id = t.wave_id LEFT JOIN users u ON u.id = t.set_by
WHERE 'phone' = ANY(w.modes) AND EXISTS (SELECT 1 FROM draws d WHERE d.wave_id = w.id)
ORDER BY t.team

-- name: workspace/callable-wave
-- A wave a group may be set to call: drawn, with the telephone mode.
SELECT w.id, 'phone' = ANY(w.modes) AS phone, EXISTS (SELECT 1 FROM draws d WHERE d.wave_id = w.id) AS drawn
FROM waves w WHERE w.name = $1

-- name: workspace/old-team-wave
SELECT coalesce((SELECT w.name FROM team_waves t JOIN waves w ON w.id = t.wave_id WHERE t.team = $1), '')

-- name: workspace/set-team-wave
INSERT INTO team_waves (team, wave_id, set_by) VALUES ($1, $2, $3)
ON CONFLICT (team) DO UPDATE SET wave_id = excluded.wave_id, set_by = excluded.set_by, set_at = now()

-- name: workspace/clear-team-wave
DELETE FROM team_waves WHERE team = $1

-- name: workspace/insert-note
INSERT INTO case_notes (case_id, author_id, kind, body) VALUES ($1, $2, $3, $4) RETURNING id

-- name: workspace/case-notes
SELECT n.id, n.kind, n.body, n.created_at, u.username AS author
FROM case_notes n JOIN users u ON u.id = n.author_id
WHERE n.case_id = $1 ORDER BY n.id

-- name: workspace/lock-searcher
-- Searches of one user are counted one at a time, so that parallel
-- requests cannot pass the cap together.
SELECT id FROM users WHERE id = $1 FOR UPDATE

-- name: workspace/recent-searches
SELECT count(*) FROM callback_searches WHERE user_id = $1 AND searched_at > now() - interval '1 hour'

-- name: workspace/insert-search
INSERT INTO callback_searches (user_id, digits, matches) VALUES ($1, $2, $3)

-- name: workspace/find-callback
-- Telephone cases of the given waves whose number ends in $2.
SELECT c.id, c.wave_id, w.name AS wave_name, coalesce(d.name, '') AS district_name, c.phone, c.status,
       coalesce(c.final_code, '') AS final_code, c.attempts,
       (c.held_by IS NOT NULL AND c.held_until > now()) AS held,
       coalesce(CASE WHEN c.held_until > now() THEN c.held_by END, 0) AS held_by
FROM cases c JOIN waves w ON w.id = c.wave_id LEFT JOIN districts d ON d.code = c.district_code
WHERE c.wave_id = ANY($1) AND c.mode = 'phone' AND c.phone IS NOT NULL AND right(c.phone, length($2)) = $2
ORDER BY c.id LIMIT $3

-- name: workspace/holds-other
SELECT EXISTS (SELECT 1 FROM cases WHERE wave_id = $1 AND held_by = $2 AND held_until > now() AND status <> 'final' AND id <> $3)

-- name: workspace/take-callback
-- The case of a call-back, leased to the interviewer who took the call:
-- only a telephone case of their wave, not final, whose number ends in the
-- digits they typed, and not held by anyone else.
UPDATE cases SET held_by = $2, held_until = now() + $5::interval, updated_at = now()
WHERE id = $1 AND wave_id = $3 AND mode = 'phone' AND status <> 'final' AND right(phone, length($4)) = $4
  AND (held_by IS NULL OR held_until < now() OR held_by = $2)
RETURNING id

-- name: workspace/insert-consent
INSERT INTO participation_consents (case_id, questionnaire_id, interviewer_id, answer)
VALUES ($1, $2, $3, $4) RETURNING id

-- name: workspace/consents-of-case
-- A case's answers to the consent script, oldest first, with who read it.
SELECT p.id, p.answer, p.created_at, coalesce(p.questionnaire_id, 0) AS questionnaire_id, u.username AS interviewer
FROM participation_consents p JOIN users u ON u.id = p.interviewer_id
WHERE p.case_id = $1 ORDER BY p.id
