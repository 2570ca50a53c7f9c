-- name: auth/insert-user
INSERT INTO users (username, display_name, password_hash, role) VALUES ($1, $2, $3, $4)
ON CONFLICT (username) DO NOTHING RETURNING id

-- name: auth/user-by-name
SELECT id, username, display_name, password_hash, role, active FROM users WHERE username = $1

-- name: auth/list-users
SELECT id, username, display_name, role, active, created_at FROM users ORDER BY role, username

-- name: auth/insert-session
INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at) VALUES ($1, $2, $3, $4)

-- name: auth/session-user
SELECT s.csrf_token, u.id, u.username, u.display_name, u.role
FROM sessions s JOIN users u ON u.id = s.user_id
WHERE s.token_hash = $1 AND s.expires_at > now() AND u.active

-- name: auth/delete-session
DELETE FROM sessions WHERE token_hash = $1

-- name: auth/delete-expired-sessions
DELETE FROM sessions WHERE expires_at < now()

-- name: auth/set-password
UPDATE users SET password_hash = $2, active = true WHERE username = $1
