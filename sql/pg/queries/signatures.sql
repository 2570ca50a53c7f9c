-- name: export/save-download-signature
-- The signature of the copy of a file a user last downloaded
-- (0104_evidence.sql).
INSERT INTO download_signatures (user_id, kind, wave, signature) VALUES ($1, $2, $3, $4)
ON CONFLICT (user_id, kind, wave) DO UPDATE SET signature = excluded.signature, created_at = now()

-- name: export/get-download-signature
SELECT signature FROM download_signatures WHERE user_id = $1 AND kind = $2 AND wave = $3
