-- name: users/insert-user
INSERT INTO users (username, display_name, password_hash, role) VALUES ($1, $2, $3, $4)
ON CONFLICT (username) DO NOTHING RETURNING id

-- name: users/user-by-name
SELECT id, username, display_name, password_hash, role, active FROM users WHERE username = $1

-- name: users/list-users
SELECT u.id, u.username, u.display_name, u.role, u.active, u.refusal_converter, u.created_at, u.must_change_password,
       (SELECT count(*) FROM sessions s WHERE s.user_id = u.id AND s.expires_at > now()) AS sessions
FROM users u ORDER BY u.role, u.username

-- name: users/insert-session
INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at) VALUES ($1, $2, $3, $4)

-- name: users/session-user
SELECT s.csrf_token, u.id, u.username, u.display_name, u.role, u.must_change_password, u.team, u.auto_next
FROM sessions s JOIN users u ON u.id = s.user_id
WHERE s.token_hash = $1 AND s.expires_at > now() AND u.active

-- name: users/delete-session
DELETE FROM sessions WHERE token_hash = $1

-- name: users/delete-expired-sessions
DELETE FROM sessions WHERE expires_at < now()

-- name: users/set-password
UPDATE users SET password_hash = $2, active = true, must_change_password = false WHERE username = $1

-- name: users/record-attempt
INSERT INTO sign_in_attempts (username, address, ok) VALUES ($1, $2, $3)

-- name: users/set-refusal-converter
UPDATE users SET refusal_converter = $2 WHERE id = $1 RETURNING username

-- name: users/user-by-id
SELECT id, username, display_name, role, active FROM users WHERE id = $1

-- name: users/set-active
UPDATE users SET active = $2 WHERE id = $1 RETURNING username

-- name: users/set-temporary-password
UPDATE users SET password_hash = $2, must_change_password = true WHERE id = $1 RETURNING username

-- name: users/change-password
UPDATE users SET password_hash = $2, must_change_password = false WHERE id = $1

-- name: users/mark-new-account
-- An account an admin made starts with a temporary password.
UPDATE users SET must_change_password = true, refusal_converter = $2 WHERE id = $1

-- name: users/end-sessions
DELETE FROM sessions WHERE user_id = $1

-- name: users/end-other-sessions
DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2

-- name: users/throttle-ensure
-- In key order, like the lock below, so that two sign-ins never wait on
-- each other's new rows in opposite orders.
INSERT INTO sign_in_throttle (key) SELECT k FROM unnest($1::text[]) AS k ORDER BY k ON CONFLICT DO NOTHING

-- name: users/throttle-lock
SELECT key, failures, blocked_until, refused, failed_total, refused_total, last_at, now() AS now
FROM sign_in_throttle WHERE key = ANY($1::text[]) ORDER BY key FOR UPDATE

-- name: users/throttle-save
UPDATE sign_in_throttle SET failures = $2, blocked_until = $3, refused = $4, failed_total = $5, refused_total = $6, last_at = $7
WHERE key = $1

-- name: users/throttle-forget-user
-- An admin's reset lifts the account's back-off: its own key and its keys
-- per address ('p|name|…'), but not the addresses' own.
DELETE FROM sign_in_throttle WHERE key = $1 OR left(key, length($2)) = $2

-- name: users/throttle-known-address
SELECT EXISTS (SELECT 1 FROM sign_in_attempts
               WHERE lower(username) = lower($1) AND address = $2 AND ok AND at > now() - $3::interval)

-- name: users/throttle-prune-attempts
DELETE FROM sign_in_attempts WHERE at < now() - $1::interval

-- name: users/throttle-prune-keys
DELETE FROM sign_in_throttle WHERE last_at < now() - $1::interval AND (blocked_until IS NULL OR blocked_until < now())

-- name: users/set-team
UPDATE users SET team = $2 WHERE id = $1 AND role = 'interviewer' RETURNING username, (SELECT team FROM users WHERE id = $1) AS old

-- name: users/set-auto-next
UPDATE users SET auto_next = $2 WHERE id = $1

-- name: users/interviewers
SELECT id, username, display_name, team FROM users WHERE role = 'interviewer' AND active ORDER BY team, username
