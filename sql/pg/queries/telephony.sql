-- name: telephony/account-of-user
SELECT s.user_id, s.sip_user, s.secret, s.phone_uri
FROM sip_accounts s JOIN users u ON u.id = s.user_id
WHERE s.user_id = $1 AND u.active

-- name: telephony/account-by-sip-user
-- Only active interviewers' phones may register.
SELECT s.user_id, s.sip_user, s.secret, s.phone_uri
FROM sip_accounts s JOIN users u ON u.id = s.user_id
WHERE s.sip_user = $1 AND u.active AND u.role = 'interviewer'

-- name: telephony/create-account
INSERT INTO sip_accounts (user_id, sip_user, secret)
SELECT id, $2, $3 FROM users WHERE id = $1 AND role = 'interviewer'
ON CONFLICT (user_id) DO NOTHING

-- name: telephony/set-phone-uri
UPDATE sip_accounts SET phone_uri = $2 WHERE user_id = $1
