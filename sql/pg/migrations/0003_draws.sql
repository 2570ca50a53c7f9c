-- Draws: frame versions kept by triggers, door-to-door design settings,
-- replicates, freshness, and the record of every unit a draw selected.

-- A draw records a checksum of the frame it read. Hashing the frame at draw
-- time would read every row of a census-scale frame, so the checksum is kept
-- up to date as the frame changes instead: every statement that writes a
-- frame folds the rows it changed (sorted by id) into a running SHA-256
-- chain. Equal checksums therefore mean the same history of changes, and any
-- change to the frame, however small, gives a new checksum.
CREATE TABLE frame_versions (
    kind        text PRIMARY KEY CHECK (kind IN ('phone', 'household')),
    version     bigint NOT NULL DEFAULT 0,
    checksum    text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The text of a frame row that the checksum covers: every column.
CREATE FUNCTION phone_frame_row_text(r phone_frame) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT r.id || '|' || coalesce(r.district_code, '') || '|' || r.ordinal || '|' || r.phone
$$;
CREATE FUNCTION household_frame_row_text(r household_frame) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT r.id || '|' || r.district_code || '|' || r.street || '|' || r.community || '|' || r.household_id
        || '|' || r.address || '|' || coalesce(r.street_size::text, '') || '|' || coalesce(r.community_size::text, '')
        || '|' || r.ordinal
$$;

-- Rows are hashed in blocks of 65,536 ids and the block digests hashed
-- together: one text of a whole census-scale import would pass PostgreSQL's
-- 1 GB limit on a value.
CREATE FUNCTION sha256_hex(t text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT encode(sha256(convert_to(t, 'UTF8')), 'hex') $$;

-- The chain starts from the frame as it stands when this migration runs, so
-- that a database migrated with a frame already loaded starts from a checksum
-- of that content.
INSERT INTO frame_versions (kind, checksum)
SELECT 'phone', sha256_hex(coalesce(string_agg(h, '' ORDER BY b), ''))
FROM (SELECT r.id >> 16 AS b, sha256_hex(string_agg(phone_frame_row_text(r), E'\n' ORDER BY r.id)) AS h
      FROM phone_frame r GROUP BY 1) x;
INSERT INTO frame_versions (kind, checksum)
SELECT 'household', sha256_hex(coalesce(string_agg(h, '' ORDER BY b), ''))
FROM (SELECT r.id >> 16 AS b, sha256_hex(string_agg(household_frame_row_text(r), E'\n' ORDER BY r.id)) AS h
      FROM household_frame r GROUP BY 1) x;

-- fold_frame_version(kind, op, digest) appends one change to the chain.
CREATE FUNCTION fold_frame_version(k text, op text, digest text) RETURNS void
LANGUAGE sql AS $$
    UPDATE frame_versions
    SET version = version + 1,
        checksum = sha256_hex(checksum || '|' || (version + 1) || '|' || op || '|' || digest),
        updated_at = now()
    WHERE kind = k
$$;

-- Statement-level triggers see the changed rows in transition tables, so an
-- import of a million rows folds once and reads only the rows it wrote.
-- PostgreSQL allows a transition table only on a single-event trigger, hence
-- one trigger per event.
CREATE FUNCTION phone_frame_version() RETURNS trigger
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
        FROM (SELECT r.id >> 16 AS b, sha256_hex(string_agg(phone_frame_row_text(r::phone_frame), E'\n' ORDER BY r.id)) AS h
              FROM old_rows r GROUP BY 1) x;
    ELSE
        SELECT string_agg(h, '' ORDER BY b) INTO d
        FROM (SELECT r.id >> 16 AS b, sha256_hex(string_agg(phone_frame_row_text(r::phone_frame), E'\n' ORDER BY r.id)) AS h
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

CREATE FUNCTION household_frame_version() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    d text;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM fold_frame_version('household', 'TRUNCATE', '');
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        SELECT string_agg(h, '' ORDER BY b) INTO d
        FROM (SELECT r.id >> 16 AS b, sha256_hex(string_agg(household_frame_row_text(r::household_frame), E'\n' ORDER BY r.id)) AS h
              FROM old_rows r GROUP BY 1) x;
    ELSE
        SELECT string_agg(h, '' ORDER BY b) INTO d
        FROM (SELECT r.id >> 16 AS b, sha256_hex(string_agg(household_frame_row_text(r::household_frame), E'\n' ORDER BY r.id)) AS h
              FROM new_rows r GROUP BY 1) x;
    END IF;
    IF d IS NOT NULL THEN
        PERFORM fold_frame_version('household', TG_OP, sha256_hex(d));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER phone_frame_version_ins AFTER INSERT ON phone_frame
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION phone_frame_version();
CREATE TRIGGER phone_frame_version_upd AFTER UPDATE ON phone_frame
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION phone_frame_version();
CREATE TRIGGER phone_frame_version_del AFTER DELETE ON phone_frame
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION phone_frame_version();
CREATE TRIGGER phone_frame_version_trunc AFTER TRUNCATE ON phone_frame
    FOR EACH STATEMENT EXECUTE FUNCTION phone_frame_version();

CREATE TRIGGER household_frame_version_ins AFTER INSERT ON household_frame
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION household_frame_version();
CREATE TRIGGER household_frame_version_upd AFTER UPDATE ON household_frame
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION household_frame_version();
CREATE TRIGGER household_frame_version_del AFTER DELETE ON household_frame
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION household_frame_version();
CREATE TRIGGER household_frame_version_trunc AFTER TRUNCATE ON household_frame
    FOR EACH STATEMENT EXECUTE FUNCTION household_frame_version();

-- Design settings of a wave.
--   door_share: share of each district's target collected door to door;
--     when not given it follows the modes (0 phone only, 1 door only, 0.5 both).
--   households_per_community (k) and communities_per_street (n₂): the
--     door-to-door cluster sizes of STATISTICS.md §3.
--   replicate_size: telephone cases per replicate; 0 = one replicate per stratum.
--   replicate_threshold: share of final outcomes in the open replicates at
--     which the next replicate opens.
--   freshness_months (K): units interviewed in waves drawn in the previous K
--     months are left out of a new draw; 0 = no exclusion.
ALTER TABLE waves
    ADD COLUMN door_share double precision CHECK (door_share >= 0 AND door_share <= 1),
    ADD COLUMN households_per_community int NOT NULL DEFAULT 10 CHECK (households_per_community > 0),
    ADD COLUMN communities_per_street int NOT NULL DEFAULT 2 CHECK (communities_per_street > 0),
    ADD COLUMN replicate_size int NOT NULL DEFAULT 0 CHECK (replicate_size >= 0),
    ADD COLUMN replicate_threshold double precision NOT NULL DEFAULT 0.8 CHECK (replicate_threshold > 0 AND replicate_threshold <= 1),
    ADD COLUMN freshness_months int NOT NULL DEFAULT 0 CHECK (freshness_months >= 0);

UPDATE waves SET door_share = CASE WHEN NOT 'door' = ANY (modes) THEN 0 WHEN NOT 'phone' = ANY (modes) THEN 1 ELSE 0.5 END;

-- The default depends on the modes, which a column default cannot see.
CREATE FUNCTION waves_default_door_share() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.door_share IS NULL THEN
        NEW.door_share := CASE WHEN NOT 'door' = ANY (NEW.modes) THEN 0
                               WHEN NOT 'phone' = ANY (NEW.modes) THEN 1
                               ELSE 0.5 END;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER waves_default_door_share BEFORE INSERT OR UPDATE ON waves
    FOR EACH ROW EXECUTE FUNCTION waves_default_door_share();

ALTER TABLE waves ALTER COLUMN door_share SET NOT NULL;
-- A share of a mode the wave does not use would release cases nobody works.
ALTER TABLE waves ADD CONSTRAINT waves_door_share_modes
    CHECK ((door_share = 0 OR 'door' = ANY (modes)) AND (door_share = 1 OR 'phone' = ANY (modes)));

-- The door-to-door algorithm is recorded beside the telephone one; algorithm
-- and version stay the telephone algorithm's unless the wave is door only.
-- city_released is the number of cases drawn from the city-wide stratum of
-- numbers without a district hint, city_excluded the numbers of that stratum
-- left out by the freshness rule (per-district counts are in allocations).
ALTER TABLE draws
    ADD COLUMN door_algorithm text,
    ADD COLUMN door_version int,
    ADD COLUMN city_released int NOT NULL DEFAULT 0,
    ADD COLUMN city_excluded int NOT NULL DEFAULT 0;

-- target and released are the district's totals over both modes.
ALTER TABLE allocations
    ADD COLUMN door_target int NOT NULL DEFAULT 0,
    ADD COLUMN door_released int NOT NULL DEFAULT 0,
    ADD COLUMN excluded int NOT NULL DEFAULT 0;

-- stratum is the stratum a case was drawn from ('' = the city-wide stratum of
-- numbers without a district hint). It is fixed at the draw, unlike
-- district_code, which screening may fill in later, so that a case never
-- changes replicate. replicate is NULL for door-to-door cases: a community's
-- systematic sample is only a sample when it is worked whole, so field lists
-- are released at once.
ALTER TABLE cases
    ADD COLUMN stratum text,
    ADD COLUMN replicate int,
    ADD COLUMN household_id bigint REFERENCES household_frame(id),
    ADD COLUMN psu text,
    ADD COLUMN inclusion_prob double precision CHECK (inclusion_prob > 0 AND inclusion_prob <= 1);

-- Replicates of a stratum, numbered from 1. district_code is '' for the
-- city-wide stratum, so it carries no foreign key. opened_by says what opened
-- it: 'draw', 'threshold' or 'hand'.
CREATE TABLE replicates (
    wave_id        bigint NOT NULL REFERENCES waves(id),
    district_code  text NOT NULL,
    number         int NOT NULL CHECK (number > 0),
    opened_at      timestamptz,
    opened_by      text CHECK (opened_by IN ('draw', 'threshold', 'hand')),
    PRIMARY KEY (wave_id, district_code, number)
);

-- Cases drawn before replicates existed form replicate 1 of their stratum,
-- open since their draw, so that nothing already released stops being worked.
UPDATE cases SET stratum = coalesce(district_code, ''), replicate = 1 WHERE mode = 'phone';
INSERT INTO replicates (wave_id, district_code, number, opened_at, opened_by)
SELECT DISTINCT c.wave_id, c.stratum, 1, d.created_at, 'draw'
FROM cases c JOIN draws d ON d.wave_id = c.wave_id
WHERE c.replicate IS NOT NULL;

CREATE INDEX cases_replicate ON cases (wave_id, stratum, replicate);
-- Freshness looks units up by number and by household.
CREATE INDEX cases_phone ON cases (phone) WHERE phone IS NOT NULL;
CREATE INDEX cases_household ON cases (household_id) WHERE household_id IS NOT NULL;

-- Every unit a door-to-door draw selected, at every stage, with its
-- inclusion probability at that stage (conditional on the stages above) and
-- overall (the product down to this stage). Certainty units (π ≥ 1) have
-- prob 1 and certainty true.
CREATE TABLE drawn_units (
    wave_id             bigint NOT NULL REFERENCES waves(id),
    stage               text NOT NULL CHECK (stage IN ('street', 'community', 'household')),
    district_code       text NOT NULL REFERENCES districts(code),
    street              text NOT NULL,
    community           text NOT NULL DEFAULT '',
    household_frame_id  bigint REFERENCES household_frame(id),
    size                double precision NOT NULL,
    prob                double precision NOT NULL CHECK (prob > 0 AND prob <= 1),
    overall_prob        double precision NOT NULL CHECK (overall_prob > 0 AND overall_prob <= 1),
    certainty           boolean NOT NULL DEFAULT false
);
CREATE INDEX drawn_units_wave ON drawn_units (wave_id, stage, district_code);
