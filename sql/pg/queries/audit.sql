-- name: audit/lock
-- Appends are serialised so that each row chains to the one before; audited
-- events (sign-ins, exports, edits) are rare enough for that.
SELECT pg_advisory_xact_lock(7468)

-- name: audit/append
-- The hash is computed by the database from the stored representation
-- (jsonb text, microseconds since the epoch), so that verification
-- recomputes exactly the same bytes.
WITH last AS (SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1),
     new AS (SELECT coalesce((SELECT seq FROM last), 0) + 1 AS seq,
                    coalesce((SELECT hash FROM last), '') AS prev,
                    date_trunc('microseconds', clock_timestamp()) AS at)
INSERT INTO audit_log (seq, at, actor_id, actor, action, subject, details, prev_hash, hash)
SELECT seq, at, $1::bigint, $2::text, $3::text, $4::text, $5::jsonb, prev,
       encode(sha256(convert_to(concat_ws(E'\n', prev, seq::text, (extract(epoch FROM at) * 1000000)::bigint::text,
              coalesce($1::bigint::text, ''), $2::text, $3::text, $4::text, $5::jsonb::text), 'UTF8')), 'hex')
FROM new
RETURNING seq, hash

-- name: audit/verify
SELECT seq, prev_hash, hash,
       encode(sha256(convert_to(concat_ws(E'\n', prev_hash, seq::text, (extract(epoch FROM at) * 1000000)::bigint::text,
              coalesce(actor_id::text, ''), actor, action, subject, details::text), 'UTF8')), 'hex') AS computed
FROM audit_log ORDER BY seq

-- name: audit/head
-- The newest entry: what a signed file or an anchor names as the chain's
-- state when it was made.
SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1
