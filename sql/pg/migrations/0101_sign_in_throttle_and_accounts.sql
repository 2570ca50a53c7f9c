-- Sign-in back-off that cannot lock anyone out for good, and accounts an
-- admin manages from the web (docs/design.md §1).

-- A password an admin set (a new account, a reset) is temporary: its user
-- must choose their own before doing anything else.
ALTER TABLE users ADD COLUMN must_change_password boolean NOT NULL DEFAULT false;

-- Back-off state per key: an account ('u|name'), an address ('a|addr') or
-- an account from one address ('p|name|addr'). A sign-in takes its keys'
-- rows FOR UPDATE and counts itself as a failure before the password is
-- checked, so that parallel guesses cannot all slip past the limit; a
-- success gives the count back. The table is not chained into the audit
-- log: the log gets one entry when a key first turns someone away, and the
-- counts with the account's next successful sign-in.
CREATE TABLE sign_in_throttle (
    key            text PRIMARY KEY,
    failures       integer NOT NULL DEFAULT 0,      -- this streak, drives the back-off
    blocked_until  timestamptz,                     -- refused without a check until then
    refused        integer NOT NULL DEFAULT 0,      -- turned away this streak
    failed_total   integer NOT NULL DEFAULT 0,      -- since the last success, across streaks
    refused_total  integer NOT NULL DEFAULT 0,
    last_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sign_in_throttle_last ON sign_in_throttle (last_at);

-- sign_in_attempts now holds only the attempts whose password was checked
-- (the back-off turns the rest away before bcrypt); old rows are removed.
CREATE INDEX sign_in_attempts_at ON sign_in_attempts (at);
-- Addresses an account signed in from lately are spared the account-wide
-- back-off, so that its owner keeps working through a distributed attack.
CREATE INDEX sign_in_attempts_known ON sign_in_attempts (lower(username), address, at DESC) WHERE ok;
