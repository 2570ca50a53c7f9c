-- The telephone frame's indexes, constraint-backed ones (primary key,
-- unique) first, each by name: the order in which an import rebuilds them
-- (phone_frame_restore_indexes).
SELECT pg_get_indexdef(x.indexrelid)
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid
WHERE x.indrelid = 'phone_frame'::regclass
ORDER BY c.conname IS NULL, i.relname
