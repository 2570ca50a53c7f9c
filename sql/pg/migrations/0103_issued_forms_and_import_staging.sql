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
