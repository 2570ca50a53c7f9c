-- The telephone frame's foreign keys, which an import sets aside and checks
-- with one join when it adds them back.
SELECT conname AS name, pg_get_constraintdef(oid) AS def
FROM pg_constraint
WHERE conrelid = 'phone_frame'::regclass AND contype = 'f'
ORDER BY conname
