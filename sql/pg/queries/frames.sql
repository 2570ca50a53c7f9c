-- Frame imports (sampler/frameimport.go).
--
-- Rows of an import are first copied into a temporary staging table created
-- with CREATE TEMP TABLE x (LIKE x): the permanent table of the same name
-- (in the baseline migration) only gives the statements below a relation to be checked
-- against at boot, and its CHECK (false) makes sure that nothing is ever
-- written to it; inside the import's session the temporary table shadows it.

-- name: frames/district-codes
SELECT code FROM districts

-- name: frames/lock-phone-frame
LOCK TABLE phone_frame IN SHARE ROW EXCLUSIVE MODE

-- name: frames/import-work-mem
-- A census-scale import sorts tens of millions of rows by number; with the
-- default work_mem each sort spills to many small runs on disk.
SET LOCAL work_mem = '256MB'

-- name: frames/create-phone-staging
CREATE TEMP TABLE frame_phone_rows (LIKE frame_phone_rows) ON COMMIT DROP

-- name: frames/savepoint
SAVEPOINT frame_import

-- name: frames/rollback-savepoint
ROLLBACK TO SAVEPOINT frame_import

-- name: frames/insert-numbered-phones
-- Adds the staged rows with the ordinals given while the file was read;
-- right only when no number repeats, which the unique index on the number
-- checks. In number order, so that the index is appended to rather than
-- written at random.
INSERT INTO phone_frame (phone, district_code, ordinal)
SELECT phone, district_code, ordinal FROM frame_phone_rows ORDER BY phone

-- name: frames/phone-duplicates
-- The first $1 rows, in line order, that repeat an earlier line of the file
-- or a number already in the frame.
SELECT x.line, x.first_line, (p.id IS NOT NULL) AS in_frame
FROM (SELECT line, phone, min(line) OVER (PARTITION BY phone) AS first_line FROM frame_phone_rows) x
LEFT JOIN phone_frame p ON p.phone = x.phone
WHERE x.line <> x.first_line OR p.id IS NOT NULL
ORDER BY x.line
LIMIT $1

-- name: frames/phone-stratum-bases
-- The largest ordinal of every stratum an import can append to (the
-- districts, and '' for numbers without a hint), each found at the end of
-- the stratum's index. Read once before the insert: asked for while the
-- insert runs, the index would also walk the rows being added, which the
-- statement cannot see, and the merge would grow with the square of the
-- file.
SELECT s.stratum,
       coalesce((SELECT max(p.ordinal) FROM phone_frame p WHERE coalesce(p.district_code, '') = s.stratum), 0) AS n
FROM (SELECT code AS stratum FROM districts UNION ALL SELECT '') s

-- name: frames/merge-phones
-- Appends the first occurrence of every new number to its stratum, numbering
-- on from the stratum's largest ordinal ($1/$2: strata and their largest
-- ordinals) so that ordinals stay dense; returns how many rows were added.
-- Rows go in in number order: the number's index is then appended to
-- rather than written at random, and each stratum's ordinals, rising with
-- the line in every stratum, land near the end of theirs.
WITH base AS (
    SELECT * FROM unnest($1::text[], $2::bigint[]) AS b(stratum, n)
), fresh AS (
    SELECT c.line, c.phone, c.district_code
    FROM (SELECT DISTINCT ON (phone) line, phone, district_code FROM frame_phone_rows ORDER BY phone, line) c
    WHERE NOT EXISTS (SELECT 1 FROM phone_frame p WHERE p.phone = c.phone)
), ins AS (
    INSERT INTO phone_frame (phone, district_code, ordinal)
    SELECT x.phone, x.district_code, x.ordinal
    FROM (SELECT f.phone, f.district_code,
                 b.n + row_number() OVER (PARTITION BY coalesce(f.district_code, '') ORDER BY f.line) AS ordinal
          FROM fresh f JOIN base b ON b.stratum = coalesce(f.district_code, '')) x
    ORDER BY x.phone
    RETURNING 1
)
SELECT count(*) FROM ins

-- name: frames/count-fixed-phones
-- How many of the numbers the merge will add had to be normalised: first
-- occurrences in the file of numbers not yet in the frame. Run before the
-- merge, and only when the file had normalised numbers at all.
SELECT count(*)
FROM (SELECT DISTINCT ON (phone) phone, fixed FROM frame_phone_rows ORDER BY phone, line) c
WHERE c.fixed AND NOT EXISTS (SELECT 1 FROM phone_frame p WHERE p.phone = c.phone)

-- name: frames/used-phones-in-blocks
-- Numbers of the given 7-digit blocks that random-digit dialing must not
-- produce again: in the frame, or called in any wave.
SELECT phone FROM phone_frame WHERE left(phone, 7) = ANY($1::text[])
UNION
SELECT phone FROM cases WHERE phone IS NOT NULL AND left(phone, 7) = ANY($1::text[])

-- name: frames/lock-household-frame
LOCK TABLE household_frame IN SHARE ROW EXCLUSIVE MODE

-- name: frames/create-household-staging
CREATE TEMP TABLE frame_household_rows (LIKE frame_household_rows INCLUDING DEFAULTS) ON COMMIT DROP

-- name: frames/mark-household-repeats
UPDATE frame_household_rows r SET dup_of = d.first_line
FROM (SELECT line, min(line) OVER (PARTITION BY district_code, household_id) AS first_line FROM frame_household_rows) d
WHERE r.line = d.line AND d.first_line <> d.line

-- name: frames/mark-households-in-frame
UPDATE frame_household_rows r SET in_frame = true
WHERE r.dup_of IS NULL
  AND EXISTS (SELECT 1 FROM household_frame h WHERE h.district_code = r.district_code AND h.household_id = r.household_id)

-- name: frames/mark-household-size-conflicts
-- New rows whose size measures contradict those already stored for the same
-- street or community; returns every such row with the stored values.
WITH known AS (
    SELECT r.line,
           (SELECT h.street_size FROM household_frame h
             WHERE h.district_code = r.district_code AND h.street = r.street AND h.street_size IS NOT NULL LIMIT 1) AS street_size,
           (SELECT h.community_size FROM household_frame h
             WHERE h.district_code = r.district_code AND h.street = r.street AND h.community = r.community
               AND h.community_size IS NOT NULL LIMIT 1) AS community_size
    FROM frame_household_rows r
    WHERE r.dup_of IS NULL AND NOT r.in_frame AND (r.street_size IS NOT NULL OR r.community_size IS NOT NULL)
)
UPDATE frame_household_rows r SET conflict = true
FROM known k
WHERE r.line = k.line
  AND (r.street_size <> k.street_size OR r.community_size <> k.community_size)
RETURNING r.line, r.street_size, k.street_size, r.community_size, k.community_size

-- name: frames/household-duplicates
SELECT line, coalesce(dup_of, 0) AS first_line, in_frame
FROM frame_household_rows
WHERE dup_of IS NOT NULL OR in_frame
ORDER BY line
LIMIT $1

-- name: frames/household-duplicate-count
SELECT count(*) FROM frame_household_rows WHERE dup_of IS NOT NULL OR in_frame

-- name: frames/merge-households
-- Appends the new households of each community after its largest ordinal,
-- in file order, so that ordinals stay dense 1..N within a community.
WITH fresh AS (
    SELECT * FROM frame_household_rows WHERE dup_of IS NULL AND NOT in_frame AND NOT conflict
), base AS (
    SELECT c.district_code, c.street, c.community,
           coalesce((SELECT max(h.ordinal) FROM household_frame h
                     WHERE h.district_code = c.district_code AND h.street = c.street AND h.community = c.community), 0) AS n
    FROM (SELECT DISTINCT district_code, street, community FROM fresh) c
)
INSERT INTO household_frame (district_code, street, community, household_id, address, street_size, community_size, ordinal)
SELECT f.district_code, f.street, f.community, f.household_id, f.address, f.street_size, f.community_size,
       b.n + row_number() OVER (PARTITION BY f.district_code, f.street, f.community ORDER BY f.line)
FROM fresh f JOIN base b USING (district_code, street, community)

-- name: frames/insert-import
INSERT INTO frame_imports (kind, file_name, encoding, status, error, started_at,
                           read, kept, fixed, rejected, duplicates, problems, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
RETURNING id

-- name: frames/import-audit
-- Who imported (the command when no user is known) and the frame's
-- checksum after the import, for its audit entry.
SELECT coalesce((SELECT username FROM users WHERE id = $2), 'minyi frame import') AS actor, version, checksum
FROM frame_versions WHERE kind = $1

-- name: frames/phone-frame-empty
SELECT NOT EXISTS (SELECT 1 FROM phone_frame)

-- name: frames/lock-district-codes
-- Key-share locks, as a foreign key would take, keep the districts a bulk
-- load checked its rows against until it commits.
SELECT code FROM districts FOR KEY SHARE

-- name: frames/bulk-load-settings
-- The indexes of a census-scale frame are built after the load by sorting
-- tens of millions of entries; with the default memory each sort spills
-- to many runs on disk.
SET LOCAL maintenance_work_mem = '1GB'

-- name: frames/suspend-phone-indexes
SELECT phone_frame_suspend_indexes()

-- name: frames/restore-phone-indexes
SELECT phone_frame_restore_indexes()

-- name: frames/disable-phone-version-trigger
-- A bulk load folds its digest into the frame's checksum itself
-- (sampler/frameimport_bulk.go), computed while the rows streamed past, so
-- that the trigger need not keep every inserted row in a transition table
-- and read it back. Only within the load's transaction, which holds the
-- frame exclusively. Through a function with the owner's rights, since the
-- server's role owns no table (0104_evidence.sql).
SELECT phone_frame_set_version_trigger(false)

-- name: frames/enable-phone-version-trigger
SELECT phone_frame_set_version_trigger(true)

-- name: frames/next-phone-id
SELECT nextval(pg_get_serial_sequence('phone_frame', 'id'))

-- name: frames/set-phone-id
SELECT setval(pg_get_serial_sequence('phone_frame', 'id'), $1)

-- name: frames/fold-phone-version
SELECT fold_frame_version('phone', 'INSERT', $1)

-- name: frames/phone-ids
SELECT phone, id FROM phone_frame WHERE phone = ANY($1::text[])
