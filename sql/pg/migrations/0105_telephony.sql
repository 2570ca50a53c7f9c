-- Telephony: Minyi places the calls through a SIP trunk, as a back-to-back
-- user agent between the interviewer's phone and the respondent, and
-- records them (docs/telephony.md).

-- An interviewer's SIP phone: it registers to Minyi with these digest
-- credentials, or is called at phone_uri when that is set. The secret is
-- kept as given, not hashed: digest authentication needs it (or a hash of
-- it bound to the realm, which is as good as the secret for SIP), and the
-- interviewer reads it on their phone page to set up the phone. It opens
-- nothing but the registration of that interviewer's phone.
CREATE TABLE sip_accounts (
    user_id     bigint PRIMARY KEY REFERENCES users(id),
    sip_user    text NOT NULL UNIQUE CHECK (sip_user ~ '^[a-z0-9_.-]{2,64}$'),
    secret      text NOT NULL,
    phone_uri   text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per call Minyi placed: rung, answered or not, ended. state is
-- what the case page shows (振铃 ringing, 通话中 talking, 已挂断 ended). A
-- call still ringing or talking when its server stopped is closed as
-- interrupted when a server starts. ring_ms runs from the INVITE to the
-- answer or the final failure, talk_ms from the answer to the end.
-- case_id is NULL for a trunk check (minyi sip test-call is not stored).
CREATE TABLE calls (
    id              bigserial PRIMARY KEY,
    case_id         bigint REFERENCES cases(id),
    interviewer_id  bigint REFERENCES users(id),
    state           text NOT NULL DEFAULT 'ringing' CHECK (state IN ('ringing', 'talking', 'ended')),
    started_at      timestamptz NOT NULL DEFAULT now(),
    answered_at     timestamptz,
    ended_at        timestamptz,
    sip_code        int CHECK (sip_code BETWEEN 100 AND 699),
    ring_ms         int CHECK (ring_ms >= 0),
    talk_ms         int CHECK (talk_ms >= 0),
    hangup_by       text CHECK (hangup_by IN ('interviewer', 'respondent', 'minyi', 'network')),
    interrupted     boolean NOT NULL DEFAULT false,
    -- The respondent's answer to the recording consent prompt.
    consent         text CHECK (consent IN ('yes', 'no')),
    error           text NOT NULL DEFAULT ''
);
CREATE INDEX calls_case ON calls (case_id);
CREATE INDEX calls_open ON calls (id) WHERE state <> 'ended';

-- An attempt made through Minyi points at its call: the network's final
-- code, ring and talk time and who hung up are the call's. At most one
-- attempt codes a call.
ALTER TABLE attempts ADD COLUMN call_id bigint REFERENCES calls(id);
CREATE UNIQUE INDEX attempts_call ON attempts (call_id) WHERE call_id IS NOT NULL;

-- A call's recording: an Ogg Opus file (interviewer left, respondent
-- right) in the server's recordings directory. sha256 is that of the file
-- as finished (or as found after a crash), also entered in the audit
-- chain. After delete_after the file is deleted and deleted_at set; the
-- row stays, with its hash, as the record that it existed.
CREATE TABLE recordings (
    id            bigserial PRIMARY KEY,
    call_id       bigint NOT NULL UNIQUE REFERENCES calls(id),
    path          text NOT NULL,
    codec         text NOT NULL,
    bytes         bigint,
    seconds       double precision,
    sha256        text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    delete_after  timestamptz NOT NULL,
    deleted_at    timestamptz
);
CREATE INDEX recordings_due ON recordings (delete_after) WHERE deleted_at IS NULL;

-- Recording per wave: on by default; the retention in days, NULL for the
-- server's setting.
ALTER TABLE waves ADD COLUMN record_calls boolean NOT NULL DEFAULT true;
ALTER TABLE waves ADD COLUMN recording_retention_days int CHECK (recording_retention_days > 0);
