-- Responses imports are staged as frame imports are: each import copies the
-- rows of its file into a temporary table created with CREATE TEMP TABLE
-- response_import_rows (LIKE response_import_rows), in which duplicates,
-- interviews already in the wave and implausible weights are found with
-- SQL, whatever the size of the file. This table only gives the import's
-- statements a relation to be checked against at boot; CHECK (false), which
-- LIKE does not copy, keeps it empty for ever.
CREATE TABLE response_import_rows (
    line           int NOT NULL,
    interview_id   text NOT NULL,
    district_code  text NOT NULL,
    mode           text NOT NULL,
    psu            text,
    weight         double precision,
    sex            smallint NOT NULL,
    age_group      smallint NOT NULL,
    answers        jsonb NOT NULL,
    CHECK (false)
);

-- Paper forms are keyed only against form numbers issued by the system:
-- one per door-to-door household for the field interviewer it is assigned
-- to, printed on their visit sheet. A number is twelve characters of
-- Crockford's base 32 from a random source, grouped by four (7KQM-3XPD-9R2T),
-- so that one cannot be guessed or made up, and an operator keying it from
-- the paper reads no I, L, O or U. A household reassigned to another
-- interviewer gets a number of theirs; the first keeps theirs, for a form
-- already filled in.
CREATE TABLE paper_form_numbers (
    form_number     text PRIMARY KEY CHECK (form_number ~ '^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$'),
    wave_id         bigint NOT NULL REFERENCES waves(id),
    case_id         bigint NOT NULL REFERENCES cases(id),
    interviewer_id  bigint NOT NULL REFERENCES users(id),
    issued_by       bigint REFERENCES users(id),
    issued_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (wave_id, form_number),
    UNIQUE (case_id, interviewer_id)
);
CREATE INDEX paper_form_numbers_interviewer ON paper_form_numbers (interviewer_id, wave_id);

-- Every paper form keyed from now on has an issued number of its wave. The
-- forms keyed before (against numbers typed freely) are left as they are.
ALTER TABLE paper_forms ADD CONSTRAINT paper_forms_issued_number
    FOREIGN KEY (wave_id, form_number) REFERENCES paper_form_numbers (wave_id, form_number) NOT VALID;

-- The households in the field now get their numbers at once, as those
-- assigned later do (door.AssignCommunities), so that their sheets can be
-- printed. Numbers made in Go come from crypto/rand; these from random(),
-- as unguessable to anyone without the database.
CREATE FUNCTION pg_temp.form_number() RETURNS text VOLATILE LANGUAGE sql AS $$
    SELECT string_agg(CASE WHEN k IN (5, 9) THEN '-' ELSE '' END
                      || substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', 1 + floor(random() * 32)::int, 1), '' ORDER BY k)
    FROM generate_series(1, 12) AS k
$$;
INSERT INTO paper_form_numbers (form_number, wave_id, case_id, interviewer_id)
SELECT pg_temp.form_number(), c.wave_id, c.id, c.assigned_to
FROM cases c
WHERE c.mode = 'door' AND c.assigned_to IS NOT NULL AND c.status <> 'final';
