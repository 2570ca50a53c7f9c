-- Cheaper bookkeeping for census-scale telephone frame imports (tens of
-- millions of rows in one statement).

-- The checksum trigger of migration 0003 built each row's text through
-- phone_frame_row_text(r::phone_frame); a function taking a row is not
-- inlined, and the call and the row cast cost several times the hashing.
-- The text, and so every checksum, is exactly the same as before.
--
-- The district hint's foreign key checked every inserted row on its own, a
-- third of the time of a large import. It is replaced by one check per
-- statement over the rows the statement wrote, here, and by triggers on
-- districts that keep a district in use by the frame from being deleted or
-- renamed.
ALTER TABLE phone_frame DROP CONSTRAINT phone_frame_district_code_fkey;

CREATE OR REPLACE FUNCTION phone_frame_version() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    d text;
    bad text;
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
        -- Key-share locks on the districts, as a foreign key would take,
        -- keep one from being deleted before this transaction ends.
        PERFORM 1 FROM districts FOR KEY SHARE;
        SELECT r.district_code INTO bad FROM new_rows r
        WHERE r.district_code IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM districts x WHERE x.code = r.district_code)
        LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'insert or update on table "phone_frame" violates foreign key constraint "phone_frame_district_code_check"'
                USING ERRCODE = 'foreign_key_violation', DETAIL = format('Key (district_code)=(%s) is not present in table "districts".', bad);
        END IF;
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

-- The other side of the replaced foreign key.
CREATE FUNCTION districts_keep_phone_frame() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        IF EXISTS (SELECT 1 FROM phone_frame WHERE district_code IS NOT NULL) THEN
            RAISE EXCEPTION 'cannot truncate table "districts": the telephone frame refers to it'
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.code = OLD.code THEN
        RETURN NEW;
    END IF;
    -- coalesce(district_code, '') is how the stratum index is keyed.
    IF EXISTS (SELECT 1 FROM phone_frame WHERE coalesce(district_code, '') = OLD.code) THEN
        RAISE EXCEPTION 'update or delete on table "districts" violates foreign key constraint "phone_frame_district_code_check" on table "phone_frame"'
            USING ERRCODE = 'foreign_key_violation', DETAIL = format('Key (code)=(%s) is still referenced from table "phone_frame".', OLD.code);
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER districts_keep_phone_frame BEFORE DELETE OR UPDATE OF code ON districts
    FOR EACH ROW EXECUTE FUNCTION districts_keep_phone_frame();
CREATE TRIGGER districts_keep_phone_frame_trunc BEFORE TRUNCATE ON districts
    FOR EACH STATEMENT EXECUTE FUNCTION districts_keep_phone_frame();

-- The ordinal each staged row will have in the frame when the file holds no
-- duplicate, given while the file is read, so that such a file goes into
-- the frame without being sorted and numbered again.
ALTER TABLE frame_phone_rows ADD COLUMN ordinal bigint;
