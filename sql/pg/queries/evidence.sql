-- name: evidence/entries
-- The entries that record evidence, oldest first (docs/evidence.md §7).
SELECT seq, action, subject, details FROM audit_log WHERE action = ANY($1::text[]) ORDER BY seq

-- name: evidence/entry-hash
SELECT hash FROM audit_log WHERE seq = $1
