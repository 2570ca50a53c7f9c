-- Converts a database made by the old migrations 0001–0061 into exactly
-- what migrations/0100_baseline.sql creates. Migrate runs it in the
-- transaction that records the baseline as applied, and only on a database
-- that has every old migration (sql/pg/migrate.go).
--
-- The two schemas differ only where triggers stood in for foreign keys:
-- 0006 checked the telephone frame's district hint in the frame's checksum
-- trigger and guarded districts with triggers of their own, and 0061 did the
-- same for the five references of cases. Here the triggers go and real
-- foreign keys, with the names the replaced ones had, come back. Adding a
-- foreign key checks the rows already there once, with one join.

-- The references of cases (0061): the checks on cases and the triggers on
-- the referenced tables that kept a referenced row from going.
DROP TRIGGER cases_check_inserted ON cases;
DROP TRIGGER cases_check_updated ON cases;
DROP TRIGGER cases_keep_wave ON waves;
DROP TRIGGER cases_keep_wave_trunc ON waves;
DROP TRIGGER cases_keep_district ON districts;
DROP TRIGGER cases_keep_district_trunc ON districts;
DROP TRIGGER cases_keep_user ON users;
DROP TRIGGER cases_keep_user_trunc ON users;
DROP TRIGGER cases_keep_assignee ON users;
DROP TRIGGER cases_keep_assignee_trunc ON users;
DROP TRIGGER cases_keep_household ON household_frame;
DROP TRIGGER cases_keep_household_trunc ON household_frame;
DROP FUNCTION cases_check_inserted();
DROP FUNCTION cases_check_updated();
DROP FUNCTION cases_keep_referenced();
DROP FUNCTION cases_reference_error(text, text, text, text);

ALTER TABLE cases
    ADD CONSTRAINT cases_wave_id_fkey FOREIGN KEY (wave_id) REFERENCES waves(id),
    ADD CONSTRAINT cases_district_code_fkey FOREIGN KEY (district_code) REFERENCES districts(code),
    ADD CONSTRAINT cases_held_by_fkey FOREIGN KEY (held_by) REFERENCES users(id),
    ADD CONSTRAINT cases_household_id_fkey FOREIGN KEY (household_id) REFERENCES household_frame(id),
    ADD CONSTRAINT cases_assigned_to_fkey FOREIGN KEY (assigned_to) REFERENCES users(id);

-- The telephone frame's district hint (0006): the triggers on districts,
-- and the checksum trigger without its reference check.
DROP TRIGGER districts_keep_phone_frame ON districts;
DROP TRIGGER districts_keep_phone_frame_trunc ON districts;
DROP FUNCTION districts_keep_phone_frame();

CREATE OR REPLACE FUNCTION phone_frame_version() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    d text;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM fold_frame_version('phone', 'TRUNCATE', '');
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        SELECT string_agg(h, '' ORDER BY b) INTO d
        FROM (SELECT r.id >> 16 AS b,
                     sha256_hex(string_agg(r.id || '|' || coalesce(r.district_code, '') || '|' || r.ordinal || '|' || r.phone,
                                           E'\n' ORDER BY r.id)) AS h
              FROM old_rows r GROUP BY 1) x;
    ELSE
        SELECT string_agg(h, '' ORDER BY b) INTO d
        FROM (SELECT r.id >> 16 AS b,
                     sha256_hex(string_agg(r.id || '|' || coalesce(r.district_code, '') || '|' || r.ordinal || '|' || r.phone,
                                           E'\n' ORDER BY r.id)) AS h
              FROM new_rows r GROUP BY 1) x;
    END IF;
    -- A statement that changed nothing (an import of only duplicates) leaves
    -- the frame, and so its checksum, as it was.
    IF d IS NOT NULL THEN
        PERFORM fold_frame_version('phone', TG_OP, sha256_hex(d));
    END IF;
    RETURN NULL;
END
$$;

ALTER TABLE phone_frame
    ADD CONSTRAINT phone_frame_district_code_fkey FOREIGN KEY (district_code) REFERENCES districts(code);

-- A bulk load into the empty frame sets the new foreign key aside with the
-- indexes, and adds it back after the rows are in.
CREATE OR REPLACE FUNCTION phone_frame_suspend_indexes() RETURNS void
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
    WHERE x.indrelid = 'phone_frame'::regclass
    UNION ALL
    SELECT NULL, NULL, c.conname, pg_get_constraintdef(c.oid)
    FROM pg_constraint c
    WHERE c.conrelid = 'phone_frame'::regclass AND c.contype = 'f';
    FOR r IN SELECT * FROM phone_frame_suspended_indexes LOOP
        IF r.constraint_name IS NOT NULL THEN
            EXECUTE format('ALTER TABLE phone_frame DROP CONSTRAINT %I', r.constraint_name);
        ELSE
            EXECUTE format('DROP INDEX %s', r.index_name);
        END IF;
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION phone_frame_restore_indexes() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT * FROM phone_frame_suspended_indexes
             ORDER BY index_name IS NULL, constraint_name IS NULL, index_name, constraint_name LOOP
        IF r.constraint_name IS NOT NULL THEN
            EXECUTE format('ALTER TABLE phone_frame ADD CONSTRAINT %I %s', r.constraint_name, r.constraint_def);
        ELSE
            EXECUTE r.index_def;
        END IF;
    END LOOP;
    DROP TABLE phone_frame_suspended_indexes;
END
$$;
