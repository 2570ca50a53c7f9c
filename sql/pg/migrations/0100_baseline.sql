-- The whole schema of minyi, as one file to read from top to bottom.
--
-- It replaces migrations 0001–0061, which built the same schema step by
-- step. A new database starts here; one made by those migrations is
-- converted in place by sql/pg/legacy_to_baseline.sql (see
-- sql/pg/migrate.go). Later changes go in migrations numbered after 0100.
--
-- Columns are in the order the old migrations left them in, so that a
-- converted database and a new one are the same table for table; columns
-- that came later sit at the end of their table, under a comment saying
-- what they are for.
--
-- Sections:
--   1. users and sessions
--   2. audit log
--   3. districts and census margins
--   4. questionnaires
--   5. sampling frames
--   6. waves, draws, replicates and cases
--   7. calls and appointments
--   8. interviews, drafts, review, paradata and paper forms
--   9. verification call-backs
--  10. published scores and weights
--  11. schedules, exports and jobs
--  12. field visits
--
-- Foreign keys are real FOREIGN KEY constraints, checked row by row. Where a
-- key is deliberately absent, or a bulk path sets one aside, a comment says
-- why.


-- 1. Users and sessions ------------------------------------------------------

-- Users are deactivated, never deleted: attempts, interviews and the audit
-- log keep referring to them.
CREATE TABLE users (
    id             bigserial PRIMARY KEY,
    username       text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9_.-]{2,64}$'),
    display_name   text NOT NULL DEFAULT '',
    password_hash  text NOT NULL,
    role           text NOT NULL CHECK (role IN ('admin','supervisor','interviewer','field_interviewer','office')),
    active         boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    -- Refusal converters are the interviewers who call soft refusals back.
    refusal_converter  boolean NOT NULL DEFAULT false
);

-- Sessions live in the database so that any number of servers can share them.
-- Only a hash of the cookie token is stored: a leaked table gives no sessions.
CREATE TABLE sessions (
    token_hash  bytea PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Every sign-in attempt, kept for throttling and for the audit of who
-- signed in and who failed. Throttling counts recent failures per username
-- and per address, in the database, so that it holds across servers.
CREATE TABLE sign_in_attempts (
    id        bigserial PRIMARY KEY,
    username  text NOT NULL,
    address   text NOT NULL,
    ok        boolean NOT NULL,
    at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sign_in_attempts_user ON sign_in_attempts (lower(username), at DESC) WHERE NOT ok;
CREATE INDEX sign_in_attempts_address ON sign_in_attempts (address, at DESC) WHERE NOT ok;


-- 2. Audit log ---------------------------------------------------------------

-- Sign-ins, exports, user and role changes, changes to interviews. Rows are
-- append-only (a trigger refuses UPDATE, DELETE and TRUNCATE) and
-- hash-chained: each row's hash covers its content and the previous row's
-- hash, and seq runs 1, 2, 3… without gaps, so that a changed, inserted or
-- deleted row breaks the chain where it happened.
CREATE TABLE audit_log (
    seq        bigint PRIMARY KEY,
    at         timestamptz NOT NULL,
    actor_id   bigint,
    actor      text NOT NULL,
    action     text NOT NULL,
    subject    text NOT NULL DEFAULT '',
    details    jsonb NOT NULL DEFAULT '{}',
    prev_hash  text NOT NULL,
    hash       text NOT NULL
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();


-- 3. Districts and census margins --------------------------------------------

CREATE TABLE districts (
    code        text PRIMARY KEY,
    name        text NOT NULL,
    population  bigint NOT NULL CHECK (population >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Census targets for raking: population of each category of a variable in
-- a district (sex 1/2, age_group 1–5, urban 1/2).
CREATE TABLE margins (
    district_code  text NOT NULL REFERENCES districts(code),
    variable       text NOT NULL CHECK (variable IN ('sex', 'age_group', 'urban')),
    category       smallint NOT NULL,
    population     bigint NOT NULL CHECK (population >= 0),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (district_code, variable, category),
    CHECK ((variable = 'sex' AND category IN (1, 2))
        OR (variable = 'age_group' AND category BETWEEN 1 AND 5)
        OR (variable = 'urban' AND category IN (1, 2)))
);


-- 4. Questionnaires ----------------------------------------------------------

-- A questionnaire version is immutable once it has collected an interview
-- (interviews_questionnaire tells that fast); the score map (code -> points)
-- belongs to the version.
CREATE TABLE questionnaires (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL,
    version     int NOT NULL,
    definition  jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  bigint REFERENCES users(id) ON DELETE SET NULL,
    UNIQUE (name, version)
);


-- 5. Sampling frames ---------------------------------------------------------

-- Telephone frame. ordinal is dense 1..N within a district hint so that a
-- simple random sample fetches only the drawn rows.
--
-- The frame is loaded at census scale (28.8 million numbers). A load into
-- an empty frame sets its indexes and its foreign key aside and rebuilds
-- them once at the end (phone_frame_suspend_indexes below), so that the
-- district key is checked by one join rather than once per row. No index
-- serves the key from the districts side: districts are never deleted by
-- minyi, and such an index would be one more census-sized index to build on
-- every load; deleting a district by hand scans the frame once.
CREATE TABLE phone_frame (
    id             bigserial PRIMARY KEY,
    phone          text NOT NULL UNIQUE,
    district_code  text REFERENCES districts(code),
    ordinal        bigint NOT NULL
);
CREATE UNIQUE INDEX phone_frame_stratum_ordinal ON phone_frame (coalesce(district_code, ''), ordinal);

-- Households for door-to-door draws are listed street → community →
-- household. ordinal is dense 1..N within a community, so that systematic
-- sampling in a community picks households by position without reading the
-- others. street_size and community_size are the PPS size measures of the
-- enclosing clusters; they are repeated on every row of the cluster and an
-- import keeps them consistent.
CREATE TABLE household_frame (
    id              bigserial PRIMARY KEY,
    district_code   text NOT NULL REFERENCES districts(code),
    street          text NOT NULL CHECK (street <> ''),
    community       text NOT NULL CHECK (community <> ''),
    household_id    text NOT NULL CHECK (household_id <> ''),
    address         text NOT NULL CHECK (address <> ''),
    street_size     bigint CHECK (street_size > 0),
    community_size  bigint CHECK (community_size > 0),
    ordinal         bigint NOT NULL CHECK (ordinal > 0),
    UNIQUE (district_code, household_id)
);
CREATE UNIQUE INDEX household_frame_community_ordinal ON household_frame (district_code, street, community, ordinal);

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

-- The text of a frame row that the checksum covers: every column. The
-- telephone frame's trigger spells the same text out inline, which is
-- several times cheaper than calling this per row.
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

-- Both chains start from the empty frame.
INSERT INTO frame_versions (kind, checksum) VALUES ('phone', sha256_hex('')), ('household', sha256_hex(''));

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
-- one trigger per event. A bulk load into the empty frame disables the
-- insert trigger and folds the digest it computed while copying
-- (sampler/frameimport_bulk.go).
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

-- Loading a census-scale telephone frame into an empty frame. Keeping the
-- frame's indexes up to date row by row while tens of millions of numbers
-- arrive in random order writes each index page many times, and a foreign
-- key checked row by row looks a district up for every number. The
-- importer instead sets the indexes and foreign keys aside in its
-- transaction, copies the rows, builds the indexes once, sorted, and checks
-- each foreign key with one join as it is added back. Everything is
-- transactional: a failed import leaves the frame as it was.
--
-- The definitions are read from the catalog rather than repeated here, so
-- that an index or key added to the frame later is set aside and rebuilt
-- too.
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

-- Rebuilds what phone_frame_suspend_indexes set aside, in the same
-- transaction: unique constraints, then other indexes, then foreign keys.
-- A constraint that the loaded rows break fails here, as it would have row
-- by row.
CREATE FUNCTION phone_frame_restore_indexes() RETURNS void
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

-- One row per import or random-digit generation, including failed ones
-- (status 'failed', nothing imported). problems holds at most the first
-- 1000 problems as [{"line": N, "reason": "..."}].
CREATE TABLE frame_imports (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('phone','household','rdd')),
    file_name    text NOT NULL DEFAULT '',
    encoding     text NOT NULL DEFAULT '',
    status       text NOT NULL CHECK (status IN ('ok','failed')),
    error        text,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz NOT NULL DEFAULT now(),
    read         bigint NOT NULL DEFAULT 0,
    kept         bigint NOT NULL DEFAULT 0,
    fixed        bigint NOT NULL DEFAULT 0,
    rejected     bigint NOT NULL DEFAULT 0,
    duplicates   bigint NOT NULL DEFAULT 0,
    problems     jsonb NOT NULL DEFAULT '[]',
    created_by   bigint REFERENCES users(id)
);
CREATE INDEX frame_imports_started ON frame_imports (started_at DESC);

-- Shapes of the staging tables that an import creates as temporary tables
-- (CREATE TEMP TABLE x (LIKE x)), which shadow these in the import's
-- session. They exist so that the import's named queries can be checked at
-- boot; CHECK (false) (not copied by LIKE) keeps them empty for ever.
CREATE TABLE frame_phone_rows (
    line           int NOT NULL,
    phone          text NOT NULL,
    district_code  text,
    fixed          boolean NOT NULL,
    -- The ordinal the row will have in the frame when the file holds no
    -- duplicate, given while the file is read, so that such a file goes
    -- into the frame without being sorted and numbered again.
    ordinal        bigint,
    CHECK (false)
);

CREATE TABLE frame_household_rows (
    line            int NOT NULL,
    district_code   text NOT NULL,
    street          text NOT NULL,
    community       text NOT NULL,
    household_id    text NOT NULL,
    address         text NOT NULL,
    street_size     bigint,
    community_size  bigint,
    dup_of          int,
    in_frame        boolean NOT NULL DEFAULT false,
    conflict        boolean NOT NULL DEFAULT false,
    CHECK (false)
);


-- 6. Waves, draws, replicates and cases ---------------------------------------

CREATE TABLE waves (
    id                bigserial PRIMARY KEY,
    name              text NOT NULL UNIQUE,
    rate              double precision NOT NULL DEFAULT 0.002 CHECK (rate > 0 AND rate <= 1),
    min_per_district  int NOT NULL DEFAULT 2 CHECK (min_per_district >= 0),
    expected_rate     double precision NOT NULL DEFAULT 0.5 CHECK (expected_rate > 0 AND expected_rate <= 1),
    modes             text[] NOT NULL DEFAULT '{phone}',
    questionnaire_id  bigint REFERENCES questionnaires(id),
    created_at        timestamptz NOT NULL DEFAULT now(),

    -- Design settings.
    --   door_share: share of each district's target collected door to door;
    --     when not given it follows the modes (0 phone only, 1 door only,
    --     0.5 both), set by waves_default_door_share below.
    --   households_per_community (k) and communities_per_street (n₂): the
    --     door-to-door cluster sizes of docs/statistics.md §3.
    --   replicate_size: telephone cases per replicate; 0 = one replicate per
    --     stratum.
    --   replicate_threshold: share of final outcomes in the open replicates
    --     at which the next replicate opens.
    --   freshness_months (K): units interviewed in waves drawn in the
    --     previous K months are left out of a new draw; 0 = no exclusion.
    door_share                double precision NOT NULL CHECK (door_share >= 0 AND door_share <= 1),
    households_per_community  int NOT NULL DEFAULT 10 CHECK (households_per_community > 0),
    communities_per_street    int NOT NULL DEFAULT 2 CHECK (communities_per_street > 0),
    replicate_size            int NOT NULL DEFAULT 0 CHECK (replicate_size >= 0),
    replicate_threshold       double precision NOT NULL DEFAULT 0.8 CHECK (replicate_threshold > 0 AND replicate_threshold <= 1),
    freshness_months          int NOT NULL DEFAULT 0 CHECK (freshness_months >= 0),

    -- The poll's share of a district leadership's annual assessment: 30% in
    -- the scheme the poll was built for, set per wave so that another scheme
    -- needs no new release.
    assessment_weight  double precision NOT NULL DEFAULT 0.30 CHECK (assessment_weight > 0 AND assessment_weight <= 1),

    -- Calling rules. Hours are minutes since midnight in Asia/Shanghai,
    -- [calling_from, calling_to); calling_days has bit d set for weekday d
    -- (0 = Sunday, as Go's time.Weekday). Retry delays are minutes.
    calling_from        int NOT NULL DEFAULT 540 CHECK (calling_from BETWEEN 0 AND 1439),
    calling_to          int NOT NULL DEFAULT 1260 CHECK (calling_to BETWEEN 1 AND 1440),
    calling_days        int NOT NULL DEFAULT 127 CHECK (calling_days BETWEEN 1 AND 127),
    appointment_grace   int NOT NULL DEFAULT 15 CHECK (appointment_grace BETWEEN 0 AND 1440),
    max_attempts        int NOT NULL DEFAULT 6 CHECK (max_attempts BETWEEN 1 AND 50),
    retry_busy          int NOT NULL DEFAULT 15 CHECK (retry_busy > 0),
    retry_no_answer     int NOT NULL DEFAULT 120 CHECK (retry_no_answer > 0),
    retry_soft_refusal  int NOT NULL DEFAULT 10080 CHECK (retry_soft_refusal > 0),
    verify_share        double precision NOT NULL DEFAULT 0.1 CHECK (verify_share >= 0 AND verify_share <= 1),
    quota_by_sex_age    boolean NOT NULL DEFAULT false,

    -- Door-to-door fieldwork: visits to a household before it is given up.
    max_visits  int NOT NULL DEFAULT 4 CHECK (max_visits BETWEEN 1 AND 12),

    -- A share of a mode the wave does not use would release cases nobody works.
    CONSTRAINT waves_door_share_modes
        CHECK ((door_share = 0 OR 'door' = ANY (modes)) AND (door_share = 1 OR 'phone' = ANY (modes))),
    CONSTRAINT waves_calling_hours CHECK (calling_from < calling_to)
);

-- The default door share depends on the modes, which a column default
-- cannot see.
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

-- A district's expected completion rate in a wave, where it differs from
-- the wave's (learned from past waves, or set by hand).
CREATE TABLE wave_district_rates (
    wave_id        bigint NOT NULL REFERENCES waves(id) ON DELETE CASCADE,
    district_code  text NOT NULL REFERENCES districts(code),
    expected_rate  double precision NOT NULL CHECK (expected_rate > 0 AND expected_rate <= 1),
    PRIMARY KEY (wave_id, district_code)
);

-- How a wave was drawn. algorithm and version are the telephone
-- algorithm's unless the wave is door only; the door-to-door algorithm is
-- recorded beside it. city_released is the number of cases drawn from the
-- city-wide stratum of numbers without a district hint, city_excluded the
-- numbers of that stratum left out by the freshness rule (per-district
-- counts are in allocations).
CREATE TABLE draws (
    id              bigserial PRIMARY KEY,
    wave_id         bigint NOT NULL UNIQUE REFERENCES waves(id),
    algorithm       text NOT NULL,
    version         int NOT NULL,
    seed            bigint NOT NULL,
    frame_checksum  text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    door_algorithm  text,
    door_version    int,
    city_released   int NOT NULL DEFAULT 0,
    city_excluded   int NOT NULL DEFAULT 0
);

-- Each district's share of a wave. target and released are the district's
-- totals over both modes.
CREATE TABLE allocations (
    wave_id        bigint NOT NULL REFERENCES waves(id),
    district_code  text NOT NULL REFERENCES districts(code),
    population     bigint NOT NULL,
    target         int NOT NULL,
    released       int NOT NULL,
    door_target    int NOT NULL DEFAULT 0,
    door_released  int NOT NULL DEFAULT 0,
    excluded       int NOT NULL DEFAULT 0,
    PRIMARY KEY (wave_id, district_code)
);

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

-- A case is one sampled unit in one wave. held_by/held_until is the lease of
-- the interviewer working it; row locks make the lease exclusive.
--
-- A draw inserts a whole wave's cases in one statement (115,000 for a 2‰
-- sample of the census population), and each foreign key of cases is
-- checked for every row it inserts. The five keys below guard what matters;
-- appointment_by carries none, so that a draw checks no more keys per row:
-- it is only ever written with the id of the signed-in interviewer holding
-- the case, and users are deactivated, never deleted. wave_id, held_by,
-- household_id and assigned_to have indexes (below) for the checks from the
-- referenced side; district_code has none, since districts are never
-- deleted by minyi and the index would cost every draw.
CREATE TABLE cases (
    id             bigserial PRIMARY KEY,
    wave_id        bigint NOT NULL REFERENCES waves(id),
    district_code  text REFERENCES districts(code),
    mode           text NOT NULL DEFAULT 'phone' CHECK (mode IN ('phone','door')),
    phone          text,
    status         text NOT NULL DEFAULT 'fresh' CHECK (status IN ('fresh','pending','appointment','final')),
    final_code     text,
    attempts       int NOT NULL DEFAULT 0,
    priority       int NOT NULL DEFAULT 0,
    next_at        timestamptz,
    held_by        bigint REFERENCES users(id),
    held_until     timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),

    -- stratum is the stratum a case was drawn from ('' = the city-wide
    -- stratum of numbers without a district hint). It is fixed at the draw,
    -- unlike district_code, which screening may fill in later, so that a
    -- case never changes replicate. replicate is NULL for door-to-door
    -- cases: a community's systematic sample is only a sample when it is
    -- worked whole, so field lists are released at once.
    stratum         text,
    replicate       int,
    household_id    bigint REFERENCES household_frame(id),
    psu             text,
    inclusion_prob  double precision CHECK (inclusion_prob > 0 AND inclusion_prob <= 1),

    -- appointment_by: who made the appointment (it stays theirs for the
    -- grace period; no foreign key, see above). converter_only: the case had
    -- a soft refusal, so only refusal converters call it from now on.
    -- dayparts_tried: bit 0 morning, 1 afternoon, 2 evening, for the day
    -- parts an attempt was made in. reached_code: the AAPOR 2.x code of the
    -- case's contacts, its disposition if the attempts run out.
    appointment_by  bigint,
    converter_only  boolean NOT NULL DEFAULT false,
    dayparts_tried  smallint NOT NULL DEFAULT 0,
    reached_code    text,

    -- The field interviewer a door-to-door case is assigned to. It is kept
    -- on the case, not only on its community, because a reassignment moves
    -- only the unfinished cases: a finished case stays with whoever
    -- finished it.
    assigned_to  bigint REFERENCES users(id)
);
CREATE INDEX cases_held ON cases (held_by) WHERE held_by IS NOT NULL;
CREATE INDEX cases_assigned ON cases (assigned_to, wave_id) WHERE assigned_to IS NOT NULL;
CREATE INDEX cases_replicate ON cases (wave_id, stratum, replicate);
-- Freshness looks units up by number and by household.
CREATE INDEX cases_phone ON cases (phone) WHERE phone IS NOT NULL;
CREATE INDEX cases_household ON cases (household_id) WHERE household_id IS NOT NULL;
-- The probes of the telephone queue (due appointments, due retries, due
-- conversions, fresh cases of open replicates), each an index range that
-- stops at the first eligible case. Conversions (soft refusals) have a
-- queue of their own, so that other interviewers' retry probe never scans
-- past them.
CREATE INDEX cases_due_appointments ON cases (wave_id, next_at, id) WHERE status = 'appointment' AND mode = 'phone';
CREATE INDEX cases_due_retries ON cases (wave_id, next_at, id) WHERE status = 'pending' AND mode = 'phone' AND NOT converter_only;
CREATE INDEX cases_due_conversions ON cases (wave_id, next_at, id) WHERE status = 'pending' AND mode = 'phone' AND converter_only;
CREATE INDEX cases_fresh ON cases (wave_id, stratum, replicate, priority DESC, id) WHERE status = 'fresh' AND mode = 'phone';
-- Closing a district whose quota is full reads its remaining cases.
CREATE INDEX cases_open_by_stratum ON cases (wave_id, stratum) WHERE status <> 'final' AND mode = 'phone';

-- Quota cells of a wave: the district (sex = 0, age_group = 0) and, when
-- the wave asks for it, its sex × age groups. completes is kept by the
-- transaction that saves an interview, under the cell's row lock, so that
-- concurrent saves never pass a target. A NULL target (a district without
-- an allocation) only counts.
CREATE TABLE quota_cells (
    wave_id        bigint NOT NULL REFERENCES waves(id) ON DELETE CASCADE,
    district_code  text NOT NULL REFERENCES districts(code),
    sex            smallint NOT NULL DEFAULT 0 CHECK (sex IN (0, 1, 2)),
    age_group      smallint NOT NULL DEFAULT 0 CHECK (age_group BETWEEN 0 AND 5),
    target         int CHECK (target >= 0),
    completes      int NOT NULL DEFAULT 0,
    PRIMARY KEY (wave_id, district_code, sex, age_group)
);


-- 7. Calls and appointments --------------------------------------------------

-- One row per call (or door-to-door visit) of a case. An appointment is the
-- case's status 'appointment' with next_at and appointment_by (section 6);
-- appointment_at records it on the attempt that made it.
CREATE TABLE attempts (
    id              bigserial PRIMARY KEY,
    case_id         bigint NOT NULL REFERENCES cases(id),
    interviewer_id  bigint NOT NULL REFERENCES users(id),
    outcome         text NOT NULL,
    aapor_code      text NOT NULL,
    final           boolean NOT NULL,
    appointment_at  timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attempts_case ON attempts (case_id);


-- 8. Interviews, drafts, review, paradata and paper forms --------------------

-- One row per completed interview. answers holds every question's code by
-- question id; the questionnaire version says how to score them.
--
-- A supervisor approves a flagged interview, sends it back to its
-- interviewer with a note, or marks it invalid with a reason. An invalid
-- interview is left out of every estimate but never deleted (a trigger
-- refuses DELETE). row_version counts the changes, so that two people
-- editing one interview at once cannot overwrite each other unseen
-- (optimistic locking).
CREATE TABLE interviews (
    id                bigserial PRIMARY KEY,
    wave_id           bigint NOT NULL REFERENCES waves(id),
    case_id           bigint UNIQUE REFERENCES cases(id),
    external_id       text,
    questionnaire_id  bigint NOT NULL REFERENCES questionnaires(id),
    interviewer_id    bigint REFERENCES users(id),
    district_code     text NOT NULL REFERENCES districts(code),
    mode              text NOT NULL CHECK (mode IN ('phone','door')),
    psu               text,
    weight            double precision CHECK (weight IS NULL OR weight > 0),
    sex               smallint CHECK (sex IN (1,2)),
    age_group         smallint CHECK (age_group BETWEEN 1 AND 5),
    answers           jsonb NOT NULL,
    idempotency_key   text UNIQUE,
    -- 'paper': keyed twice from a paper form (paper_forms below).
    source            text NOT NULL CHECK (source IN ('cati', 'capi', 'import', 'paper')),
    started_at        timestamptz,
    completed_at      timestamptz NOT NULL DEFAULT now(),
    -- A break-off late enough to count as a partial interview (AAPOR 1.2)
    -- is stored with the answers given, flagged so that reports can tell it
    -- apart.
    partial           boolean NOT NULL DEFAULT false,
    review_status     text NOT NULL DEFAULT 'none'
        CHECK (review_status IN ('none', 'approved', 'returned', 'corrected', 'invalid')),
    review_note       text NOT NULL DEFAULT '',
    reviewed_by       bigint REFERENCES users(id),
    reviewed_at       timestamptz,
    row_version       int NOT NULL DEFAULT 1,
    UNIQUE (wave_id, external_id)
);
CREATE INDEX interviews_wave_district ON interviews (wave_id, district_code);
CREATE INDEX interviews_questionnaire ON interviews (questionnaire_id);
CREATE INDEX interviews_review ON interviews (wave_id, review_status) WHERE review_status <> 'none';
-- The id range of a wave's interviews, found at once: scoring splits a
-- large wave into id ranges read side by side.
CREATE INDEX interviews_wave_id ON interviews (wave_id, id);

CREATE FUNCTION interviews_never_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'interviews are never deleted: mark them invalid instead';
END;
$$;
CREATE TRIGGER interviews_no_delete BEFORE DELETE ON interviews
    FOR EACH ROW EXECUTE FUNCTION interviews_never_deleted();

-- Interview drafts: the answers given so far to an interview in progress,
-- kept on the server so that a closed tab, a lost connection or a browser
-- restart does not lose them. One draft per case; it is deleted in the
-- transaction that saves the interview, screens the respondent out or
-- records a break-off. version counts the writes, so that a stale page (a
-- second tab) cannot overwrite newer answers without being told. The
-- paradata gathered so far travels with the draft, so that a resumed
-- interview keeps the time already spent.
CREATE TABLE interview_drafts (
    case_id           bigint PRIMARY KEY REFERENCES cases(id) ON DELETE CASCADE,
    interviewer_id    bigint NOT NULL REFERENCES users(id),
    answers           jsonb NOT NULL DEFAULT '{}',
    current_question  text NOT NULL DEFAULT '',
    key               text NOT NULL,
    started_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    version           int NOT NULL DEFAULT 1,
    paradata          jsonb NOT NULL DEFAULT '{}'
);

-- Every change to an interview after it was saved: an answer, or its review
-- status. Append-only, like the audit log, which records the same changes
-- in its hash chain.
CREATE TABLE interview_changes (
    id            bigserial PRIMARY KEY,
    interview_id  bigint NOT NULL REFERENCES interviews(id),
    field         text NOT NULL,
    old_value     text NOT NULL DEFAULT '',
    new_value     text NOT NULL DEFAULT '',
    note          text NOT NULL DEFAULT '',
    changed_by    bigint NOT NULL REFERENCES users(id),
    changed_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX interview_changes_interview ON interview_changes (interview_id, id);
CREATE TRIGGER interview_changes_no_update BEFORE UPDATE OR DELETE ON interview_changes
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- Paradata: how an interview was filled in. Start, end and interviewer are
-- on the interview; here are the device, the time spent on each question
-- (milliseconds) and every change of an answer given before.
CREATE TABLE interview_paradata (
    interview_id  bigint PRIMARY KEY REFERENCES interviews(id),
    device        text NOT NULL DEFAULT '',
    user_agent    text NOT NULL DEFAULT '',
    question_ms   jsonb NOT NULL DEFAULT '{}',
    changes       jsonb NOT NULL DEFAULT '[]'
);

-- Paper forms keyed twice: two operators enter the same form independently;
-- the interview is stored only when both entries agree, or when a
-- supervisor has resolved every difference.
CREATE TABLE paper_forms (
    id            bigserial PRIMARY KEY,
    wave_id       bigint NOT NULL REFERENCES waves(id),
    form_number   text NOT NULL CHECK (form_number ~ '^[A-Za-z0-9_-]{1,40}$'),
    status        text NOT NULL DEFAULT 'entering' CHECK (status IN ('entering', 'mismatch', 'accepted')),
    interview_id  bigint REFERENCES interviews(id),
    resolved_by   bigint REFERENCES users(id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (wave_id, form_number)
);

CREATE TABLE paper_entries (
    form_id      bigint NOT NULL REFERENCES paper_forms(id),
    entry        smallint NOT NULL CHECK (entry IN (1, 2)),
    operator_id  bigint NOT NULL REFERENCES users(id),
    answers      jsonb NOT NULL,
    entered_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (form_id, entry),
    UNIQUE (form_id, operator_id)
);


-- 9. Verification call-backs -------------------------------------------------

-- A share of each interviewer's completes is called back by another
-- interviewer to confirm that the interview took place. They are call tasks
-- of their own, not cases: they are no part of the sample and must not
-- count in its dispositions and rates.
CREATE TABLE verification_calls (
    id              bigserial PRIMARY KEY,
    wave_id         bigint NOT NULL REFERENCES waves(id) ON DELETE CASCADE,
    interview_id    bigint NOT NULL UNIQUE REFERENCES interviews(id),
    case_id         bigint NOT NULL REFERENCES cases(id),
    interviewer_id  bigint NOT NULL REFERENCES users(id),
    phone           text NOT NULL,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
    result          text CHECK (result IN ('confirmed', 'not_confirmed', 'refused', 'unreachable')),
    attempts        int NOT NULL DEFAULT 0,
    next_at         timestamptz NOT NULL,
    held_by         bigint REFERENCES users(id),
    held_until      timestamptz,
    verified_by     bigint REFERENCES users(id),
    note            text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX verification_calls_due ON verification_calls (wave_id, next_at, id) WHERE status = 'open';
CREATE INDEX verification_calls_held ON verification_calls (held_by) WHERE held_by IS NOT NULL;

-- Which of an interviewer's completes are verified: the k-th is when
-- floor(k·share + start) passes an integer, start drawn once at random, so
-- that each interviewer has exactly the share verified and cannot tell
-- which.
CREATE TABLE verification_counters (
    wave_id         bigint NOT NULL REFERENCES waves(id) ON DELETE CASCADE,
    interviewer_id  bigint NOT NULL REFERENCES users(id),
    completes       int NOT NULL DEFAULT 0,
    start           double precision NOT NULL,
    PRIMARY KEY (wave_id, interviewer_id)
);


-- 10. Published scores and weights -------------------------------------------

-- Published scores: the long-form table exactly as first published, so that
-- re-scoring a wave later can be compared with what the assessment office
-- received.
CREATE TABLE score_publications (
    id                bigserial PRIMARY KEY,
    wave_id           bigint NOT NULL REFERENCES waves(id),
    questionnaire_id  bigint NOT NULL REFERENCES questionnaires(id),
    published_at      timestamptz NOT NULL DEFAULT now(),
    published_by      text NOT NULL,
    long_csv          text NOT NULL,
    sha256            text NOT NULL
);
CREATE INDEX score_publications_wave ON score_publications (wave_id, published_at DESC);

-- The final weight of every interview as the scores were published: base
-- weight from the draw, post-stratified or raked to the census margins, or
-- the weight given on import. Kept with the publication, so that the
-- weights behind published scores can be shown and re-derived later.
CREATE TABLE published_weights (
    publication_id  bigint NOT NULL REFERENCES score_publications(id),
    interview_id    bigint NOT NULL REFERENCES interviews(id),
    weight          double precision NOT NULL CHECK (weight > 0),
    PRIMARY KEY (publication_id, interview_id)
);


-- 11. Schedules, exports and jobs --------------------------------------------

-- A schedule creates and draws a wave on a cron spec, in Asia/Shanghai time.
CREATE TABLE wave_schedules (
    id                bigserial PRIMARY KEY,
    name              text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9_.-]{1,60}$'),
    spec              text NOT NULL,
    rate              double precision NOT NULL DEFAULT 0.002 CHECK (rate > 0 AND rate <= 1),
    min_per_district  int NOT NULL DEFAULT 2 CHECK (min_per_district >= 0),
    expected_rate     double precision NOT NULL DEFAULT 0.5 CHECK (expected_rate > 0 AND expected_rate <= 1),
    modes             text[] NOT NULL DEFAULT '{phone}',
    enabled           boolean NOT NULL DEFAULT true,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- One row per scheduled time. The unique key makes each run happen once
-- however many servers share the database; runs found missed after a
-- restart are recorded as 'missed', not dropped.
CREATE TABLE schedule_runs (
    id             bigserial PRIMARY KEY,
    schedule_id    bigint NOT NULL REFERENCES wave_schedules(id) ON DELETE CASCADE,
    scheduled_for  timestamptz NOT NULL,
    status         text NOT NULL CHECK (status IN ('running', 'ok', 'failed', 'missed')),
    wave_name      text,
    error          text,
    attempts       int NOT NULL DEFAULT 1,
    started_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    UNIQUE (schedule_id, scheduled_for)
);
CREATE INDEX schedule_runs_recent ON schedule_runs (scheduled_for DESC);

-- Scheduled exports: files for the assessment office written on a cron
-- spec (Asia/Shanghai) into an outbox directory, with their run history.
CREATE TABLE export_schedules (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9_.-]{1,60}$'),
    wave_id     bigint NOT NULL REFERENCES waves(id) ON DELETE CASCADE,
    kinds       text[] NOT NULL CHECK (cardinality(kinds) > 0),
    spec        text NOT NULL,
    encoding    text NOT NULL DEFAULT 'utf-8' CHECK (encoding IN ('utf-8', 'gb18030')),
    min_cell    int NOT NULL DEFAULT 10 CHECK (min_cell >= 1),
    enabled     boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per scheduled time; the unique key makes each run happen once
-- however many servers share the database. A failed run is tried again
-- (attempts) after next_attempt_at, by whichever server claims it first.
CREATE TABLE export_runs (
    id               bigserial PRIMARY KEY,
    schedule_id      bigint NOT NULL REFERENCES export_schedules(id) ON DELETE CASCADE,
    scheduled_for    timestamptz NOT NULL,
    status           text NOT NULL CHECK (status IN ('running', 'ok', 'failed')),
    attempts         int NOT NULL DEFAULT 1,
    directory        text,
    files            jsonb NOT NULL DEFAULT '[]',
    error            text,
    started_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    next_attempt_at  timestamptz,
    UNIQUE (schedule_id, scheduled_for)
);
CREATE INDEX export_runs_recent ON export_runs (scheduled_for DESC);
CREATE INDEX export_runs_retry ON export_runs (next_attempt_at) WHERE status = 'failed';

-- Long work started from a page (a draw, an import) reports its progress
-- here, so that any server can show it.
CREATE TABLE jobs (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL,
    subject      text NOT NULL DEFAULT '',
    status       text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'ok', 'failed')),
    done         bigint NOT NULL DEFAULT 0,
    total        bigint NOT NULL DEFAULT 0,
    message      text NOT NULL DEFAULT '',
    error        text,
    created_by   bigint REFERENCES users(id),
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);


-- 12. Field visits -----------------------------------------------------------

-- Door-to-door fieldwork: the communities of a wave's door-to-door sample
-- are assigned to field interviewers (cases.assigned_to), who visit each
-- household up to waves.max_visits times. This is who works each community
-- of a wave's door-to-door sample now.
CREATE TABLE field_assignments (
    wave_id         bigint NOT NULL REFERENCES waves(id),
    district_code   text NOT NULL REFERENCES districts(code),
    street          text NOT NULL,
    community       text NOT NULL,
    interviewer_id  bigint NOT NULL REFERENCES users(id),
    assigned_by     bigint REFERENCES users(id),
    assigned_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (wave_id, district_code, street, community)
);
