-- name: users/insert-user
INSERT INTO users (username, display_name, password_hash, role) VALUES ($1, $2, $3, $4)
ON CONFLICT (username) DO NOTHING RETURNING id

-- name: users/user-by-name
SELECT id, username, display_name, password_hash, role, active FROM users WHERE username = $1

-- name: users/list-users
SELECT id, username, display_name, role, active, refusal_converter, created_at FROM users ORDER BY role, username

-- name: users/insert-session
INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at) VALUES ($1, $2, $3, $4)

-- name: users/session-user
SELECT s.csrf_token, u.id, u.username, u.display_name, u.role
FROM sessions s JOIN users u ON u.id = s.user_id
WHERE s.token_hash = $1 AND s.expires_at > now() AND u.active

-- name: users/delete-session
DELETE FROM sessions WHERE token_hash = $1

-- name: users/delete-expired-sessions
DELETE FROM sessions WHERE expires_at < now()

-- name: users/set-password
UPDATE users SET password_hash = $2, active = true WHERE username = $1

-- name: users/record-attempt
INSERT INTO sign_in_attempts (username, address, ok) VALUES ($1, $2, $3)

-- name: users/recent-failures
-- Failures since the last success of that username (a success clears the
-- count) within the window, by username and by address.
SELECT
  (SELECT count(*) FROM sign_in_attempts f
    WHERE lower(f.username) = lower($1) AND NOT f.ok AND f.at > now() - $3::interval
      AND f.at > coalesce((SELECT max(s.at) FROM sign_in_attempts s WHERE lower(s.username) = lower($1) AND s.ok), '-infinity')) AS by_user,
  (SELECT count(*) FROM sign_in_attempts f WHERE f.address = $2 AND NOT f.ok AND f.at > now() - $3::interval) AS by_address,
  (SELECT max(f.at) FROM sign_in_attempts f WHERE lower(f.username) = lower($1) AND NOT f.ok) AS last_failure

-- name: users/set-refusal-converter
UPDATE users SET refusal_converter = $2 WHERE id = $1 RETURNING username
