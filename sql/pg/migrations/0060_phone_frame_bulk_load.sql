-- Loading a census-scale telephone frame into an empty frame.
--
-- Keeping the frame's indexes up to date row by row while tens of millions
-- of numbers arrive in random order writes each index page many times; the
-- unique index on the number alone made such a load take many times as
-- long as copying the file. The importer instead sets the indexes aside in
-- its transaction, copies the rows and builds the indexes once, sorted.
-- Everything is transactional: a failed import leaves the indexes as they
-- were.
--
-- The definitions are read from the catalog rather than repeated here, so
-- that an index added to the frame later is set aside and rebuilt too.

CREATE FUNCTION phone_frame_suspend_indexes() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    CREATE TEMP TABLE phone_frame_suspended_indexes ON COMMIT DROP AS
    SELECT i.oid::regclass::text AS index_name, pg_get_indexdef(i.oid) AS index_def,
           c.conname AS constraint_name, pg_get_constraintdef(c.oid) AS constraint_def
    FROM pg_index x
    JOIN pg_class i ON i.oid = x.indexrelid
    LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid
    WHERE x.indrelid = 'phone_frame'::regclass;
    FOR r IN SELECT * FROM phone_frame_suspended_indexes LOOP
        IF r.constraint_name IS NOT NULL THEN
            EXECUTE format('ALTER TABLE phone_frame DROP CONSTRAINT %I', r.constraint_name);
        ELSE
            EXECUTE format('DROP INDEX %s', r.index_name);
        END IF;
    END LOOP;
END
$$;

-- Rebuilds what phone_frame_suspend_indexes set aside, in the same
-- transaction. A unique constraint that the loaded rows break fails here,
-- as it would have row by row.
CREATE FUNCTION phone_frame_restore_indexes() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT * FROM phone_frame_suspended_indexes ORDER BY constraint_name IS NULL, index_name LOOP
        IF r.constraint_name IS NOT NULL THEN
            EXECUTE format('ALTER TABLE phone_frame ADD CONSTRAINT %I %s', r.constraint_name, r.constraint_def);
        ELSE
            EXECUTE r.index_def;
        END IF;
    END LOOP;
    DROP TABLE phone_frame_suspended_indexes;
END
$$;
