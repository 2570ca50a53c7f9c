-- Ids that exports give interviews and cases.

-- The id an interview carries in exports (the interview_id column of the
-- responses file): random, drawn once when the interview is stored and kept
-- for good, so that the same interview has the same id in every export,
-- whatever is added or marked invalid meanwhile, while the id says nothing
-- of the case, the respondent or the order of interviewing (the row id
-- does). 64 random bits as 16 hex digits; existing interviews draw theirs
-- here. Not part of the interview's evidence hash: it is no answer.
ALTER TABLE interviews ADD COLUMN public_id text NOT NULL
    DEFAULT left(md5(gen_random_uuid()::text), 16) CHECK (public_id ~ '^[0-9a-f]{16}$');
CREATE UNIQUE INDEX interviews_public_id ON interviews (public_id);

-- The install's secret for the ids exports give cases (the call records'
-- case_ref): an HMAC of the case's row id under this key, so that the same
-- case has the same reference in every export, while those who hold the
-- file alone can neither learn the row id, and with it the telephone
-- number, nor the order of the draw. 32 random bytes, drawn once here.
CREATE TABLE export_secret (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),
    secret  bytea NOT NULL CHECK (length(secret) = 32)
);
INSERT INTO export_secret (secret)
VALUES (decode(md5(gen_random_uuid()::text) || md5(gen_random_uuid()::text), 'hex'));
