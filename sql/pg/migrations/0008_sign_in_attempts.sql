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
