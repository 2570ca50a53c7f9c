-- A draw releases a whole wave's cases in one statement: 115,000 of them
-- for a 2‰ sample of a city of 29 million. The five foreign keys of cases
-- checked every inserted row on its own, a query per row and key, which
-- took most of the draw's time. Inserts are now checked once per statement,
-- over the rows the statement wrote; an update that changes a key still
-- checks its row (as the foreign keys did, only when the key changes); and
-- the referenced tables refuse to lose a row that a case refers to. The
-- errors are those of the foreign keys, with their names and SQLSTATE
-- 23503.

ALTER TABLE cases
    DROP CONSTRAINT cases_wave_id_fkey,
    DROP CONSTRAINT cases_district_code_fkey,
    DROP CONSTRAINT cases_held_by_fkey,
    DROP CONSTRAINT cases_household_id_fkey,
    DROP CONSTRAINT cases_assigned_to_fkey;

CREATE FUNCTION cases_reference_error(constraint_name text, col text, val text, ref text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'insert or update on table "cases" violates foreign key constraint "%"', constraint_name
        USING ERRCODE = 'foreign_key_violation', CONSTRAINT = constraint_name, TABLE = 'cases',
              DETAIL = format('Key (%s)=(%s) is not present in table "%s".', col, val, ref);
END
$$;

-- Key-share locks on the referenced rows, as the foreign keys took, keep
-- them from being deleted or re-keyed until the inserting transaction ends.
CREATE FUNCTION cases_check_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad text;
BEGIN
    PERFORM 1 FROM waves w WHERE w.id IN (SELECT n.wave_id FROM new_rows n) FOR KEY SHARE OF w;
    SELECT n.wave_id::text INTO bad FROM new_rows n
    WHERE NOT EXISTS (SELECT 1 FROM waves w WHERE w.id = n.wave_id) LIMIT 1;
    IF FOUND THEN
        PERFORM cases_reference_error('cases_wave_id_fkey', 'wave_id', bad, 'waves');
    END IF;

    PERFORM 1 FROM districts d WHERE d.code IN (SELECT n.district_code FROM new_rows n) FOR KEY SHARE OF d;
    SELECT n.district_code INTO bad FROM new_rows n
    WHERE n.district_code IS NOT NULL AND NOT EXISTS (SELECT 1 FROM districts d WHERE d.code = n.district_code) LIMIT 1;
    IF FOUND THEN
        PERFORM cases_reference_error('cases_district_code_fkey', 'district_code', bad, 'districts');
    END IF;

    PERFORM 1 FROM users u WHERE u.id IN (SELECT n.held_by FROM new_rows n) FOR KEY SHARE OF u;
    SELECT n.held_by::text INTO bad FROM new_rows n
    WHERE n.held_by IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = n.held_by) LIMIT 1;
    IF FOUND THEN
        PERFORM cases_reference_error('cases_held_by_fkey', 'held_by', bad, 'users');
    END IF;

    PERFORM 1 FROM household_frame h WHERE h.id IN (SELECT n.household_id FROM new_rows n) FOR KEY SHARE OF h;
    SELECT n.household_id::text INTO bad FROM new_rows n
    WHERE n.household_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM household_frame h WHERE h.id = n.household_id) LIMIT 1;
    IF FOUND THEN
        PERFORM cases_reference_error('cases_household_id_fkey', 'household_id', bad, 'household_frame');
    END IF;

    PERFORM 1 FROM users u WHERE u.id IN (SELECT n.assigned_to FROM new_rows n) FOR KEY SHARE OF u;
    SELECT n.assigned_to::text INTO bad FROM new_rows n
    WHERE n.assigned_to IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = n.assigned_to) LIMIT 1;
    IF FOUND THEN
        PERFORM cases_reference_error('cases_assigned_to_fkey', 'assigned_to', bad, 'users');
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER cases_check_inserted AFTER INSERT ON cases
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cases_check_inserted();

CREATE FUNCTION cases_check_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.wave_id IS DISTINCT FROM OLD.wave_id THEN
        PERFORM 1 FROM waves WHERE id = NEW.wave_id FOR KEY SHARE;
        IF NOT FOUND THEN
            PERFORM cases_reference_error('cases_wave_id_fkey', 'wave_id', NEW.wave_id::text, 'waves');
        END IF;
    END IF;
    IF NEW.district_code IS DISTINCT FROM OLD.district_code AND NEW.district_code IS NOT NULL THEN
        PERFORM 1 FROM districts WHERE code = NEW.district_code FOR KEY SHARE;
        IF NOT FOUND THEN
            PERFORM cases_reference_error('cases_district_code_fkey', 'district_code', NEW.district_code, 'districts');
        END IF;
    END IF;
    IF NEW.held_by IS DISTINCT FROM OLD.held_by AND NEW.held_by IS NOT NULL THEN
        PERFORM 1 FROM users WHERE id = NEW.held_by FOR KEY SHARE;
        IF NOT FOUND THEN
            PERFORM cases_reference_error('cases_held_by_fkey', 'held_by', NEW.held_by::text, 'users');
        END IF;
    END IF;
    IF NEW.household_id IS DISTINCT FROM OLD.household_id AND NEW.household_id IS NOT NULL THEN
        PERFORM 1 FROM household_frame WHERE id = NEW.household_id FOR KEY SHARE;
        IF NOT FOUND THEN
            PERFORM cases_reference_error('cases_household_id_fkey', 'household_id', NEW.household_id::text, 'household_frame');
        END IF;
    END IF;
    IF NEW.assigned_to IS DISTINCT FROM OLD.assigned_to AND NEW.assigned_to IS NOT NULL THEN
        PERFORM 1 FROM users WHERE id = NEW.assigned_to FOR KEY SHARE;
        IF NOT FOUND THEN
            PERFORM cases_reference_error('cases_assigned_to_fkey', 'assigned_to', NEW.assigned_to::text, 'users');
        END IF;
    END IF;
    RETURN NULL;
END
$$;

-- The WHEN clause keeps the trigger from running at all for the updates
-- the dialer makes all day, which change status and attempts but no key.
CREATE TRIGGER cases_check_updated AFTER UPDATE OF wave_id, district_code, held_by, household_id, assigned_to ON cases
    FOR EACH ROW
    WHEN (NEW.wave_id IS DISTINCT FROM OLD.wave_id OR NEW.district_code IS DISTINCT FROM OLD.district_code
          OR NEW.held_by IS DISTINCT FROM OLD.held_by OR NEW.household_id IS DISTINCT FROM OLD.household_id
          OR NEW.assigned_to IS DISTINCT FROM OLD.assigned_to)
    EXECUTE FUNCTION cases_check_updated();

-- The referenced side: a row that cases refer to may be neither deleted nor
-- re-keyed (NO ACTION, checked at the end of the statement as the foreign
-- keys were), and its table not truncated without cases.
-- TG_ARGV: referencing column of cases, key column of the referenced table,
-- name of the replaced foreign key, type of the key (so that the lookup can
-- use the index on the column).
CREATE FUNCTION cases_keep_referenced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    col text := TG_ARGV[0];
    key text := TG_ARGV[1];
    old_key text;
    found_case boolean;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM cases WHERE %I IS NOT NULL)', col) INTO found_case;
        IF found_case THEN
            RAISE EXCEPTION 'cannot truncate table "%": cases refer to it', TG_TABLE_NAME
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        RETURN NULL;
    END IF;
    old_key := to_jsonb(OLD) ->> key;
    IF TG_OP = 'UPDATE' AND to_jsonb(NEW) ->> key IS NOT DISTINCT FROM old_key THEN
        RETURN NULL;
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM cases WHERE %I = $1::%s)', col, TG_ARGV[3]) INTO found_case USING old_key;
    IF found_case THEN
        RAISE EXCEPTION 'update or delete on table "%" violates foreign key constraint "%" on table "cases"', TG_TABLE_NAME, TG_ARGV[2]
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_ARGV[2], TABLE = TG_TABLE_NAME,
                  DETAIL = format('Key (%s)=(%s) is still referenced from table "cases".', key, old_key);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER cases_keep_wave AFTER DELETE OR UPDATE OF id ON waves
    FOR EACH ROW EXECUTE FUNCTION cases_keep_referenced('wave_id', 'id', 'cases_wave_id_fkey', 'bigint');
CREATE TRIGGER cases_keep_wave_trunc AFTER TRUNCATE ON waves
    FOR EACH STATEMENT EXECUTE FUNCTION cases_keep_referenced('wave_id', 'id', 'cases_wave_id_fkey', 'bigint');
CREATE TRIGGER cases_keep_district AFTER DELETE OR UPDATE OF code ON districts
    FOR EACH ROW EXECUTE FUNCTION cases_keep_referenced('district_code', 'code', 'cases_district_code_fkey', 'text');
CREATE TRIGGER cases_keep_district_trunc AFTER TRUNCATE ON districts
    FOR EACH STATEMENT EXECUTE FUNCTION cases_keep_referenced('district_code', 'code', 'cases_district_code_fkey', 'text');
CREATE TRIGGER cases_keep_user AFTER DELETE OR UPDATE OF id ON users
    FOR EACH ROW EXECUTE FUNCTION cases_keep_referenced('held_by', 'id', 'cases_held_by_fkey', 'bigint');
CREATE TRIGGER cases_keep_user_trunc AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION cases_keep_referenced('held_by', 'id', 'cases_held_by_fkey', 'bigint');
CREATE TRIGGER cases_keep_assignee AFTER DELETE OR UPDATE OF id ON users
    FOR EACH ROW EXECUTE FUNCTION cases_keep_referenced('assigned_to', 'id', 'cases_assigned_to_fkey', 'bigint');
CREATE TRIGGER cases_keep_assignee_trunc AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION cases_keep_referenced('assigned_to', 'id', 'cases_assigned_to_fkey', 'bigint');
CREATE TRIGGER cases_keep_household AFTER DELETE OR UPDATE OF id ON household_frame
    FOR EACH ROW EXECUTE FUNCTION cases_keep_referenced('household_id', 'id', 'cases_household_id_fkey', 'bigint');
CREATE TRIGGER cases_keep_household_trunc AFTER TRUNCATE ON household_frame
    FOR EACH STATEMENT EXECUTE FUNCTION cases_keep_referenced('household_id', 'id', 'cases_household_id_fkey', 'bigint');
