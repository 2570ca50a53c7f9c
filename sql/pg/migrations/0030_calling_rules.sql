-- Calling rules of a wave, hard appointments, retries spread over day parts,
-- refusal conversion, quotas and verification call-backs.

-- Calling rules, stored with the wave. Hours are minutes since midnight in
-- Asia/Shanghai, [calling_from, calling_to); calling_days has bit d set for
-- weekday d (0 = Sunday, as Go's time.Weekday). Retry delays are minutes.
ALTER TABLE waves
    ADD COLUMN calling_from int NOT NULL DEFAULT 540 CHECK (calling_from BETWEEN 0 AND 1439),
    ADD COLUMN calling_to int NOT NULL DEFAULT 1260 CHECK (calling_to BETWEEN 1 AND 1440),
    ADD COLUMN calling_days int NOT NULL DEFAULT 127 CHECK (calling_days BETWEEN 1 AND 127),
    ADD COLUMN appointment_grace int NOT NULL DEFAULT 15 CHECK (appointment_grace BETWEEN 0 AND 1440),
    ADD COLUMN max_attempts int NOT NULL DEFAULT 6 CHECK (max_attempts BETWEEN 1 AND 50),
    ADD COLUMN retry_busy int NOT NULL DEFAULT 15 CHECK (retry_busy > 0),
    ADD COLUMN retry_no_answer int NOT NULL DEFAULT 120 CHECK (retry_no_answer > 0),
    ADD COLUMN retry_soft_refusal int NOT NULL DEFAULT 10080 CHECK (retry_soft_refusal > 0),
    ADD COLUMN verify_share double precision NOT NULL DEFAULT 0.1 CHECK (verify_share >= 0 AND verify_share <= 1),
    ADD COLUMN quota_by_sex_age boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT waves_calling_hours CHECK (calling_from < calling_to);

-- Refusal converters are the interviewers who call soft refusals back.
ALTER TABLE users ADD COLUMN refusal_converter boolean NOT NULL DEFAULT false;

-- appointment_by: who made the appointment (it stays theirs for the grace
-- period). converter_only: the case had a soft refusal, so only refusal
-- converters call it from now on. dayparts_tried: bit 0 morning, 1
-- afternoon, 2 evening, for the day parts an attempt was made in.
-- reached_code: the AAPOR 2.x code of the case's contacts, its disposition
-- if the attempts run out. appointment_by carries no foreign key: a key on
-- cases is checked for every row a draw inserts, and the column is only
-- ever written with the id of the signed-in interviewer holding the case
-- (users are deactivated, never deleted).
ALTER TABLE cases
    ADD COLUMN appointment_by bigint,
    ADD COLUMN converter_only boolean NOT NULL DEFAULT false,
    ADD COLUMN dayparts_tried smallint NOT NULL DEFAULT 0,
    ADD COLUMN reached_code text;

-- Conversions (soft refusals) have a queue of their own, so that other
-- interviewers' retry probe never scans past them.
DROP INDEX IF EXISTS cases_due_retries;
CREATE INDEX cases_due_retries ON cases (wave_id, next_at, id) WHERE status = 'pending' AND mode = 'phone' AND NOT converter_only;
CREATE INDEX cases_due_conversions ON cases (wave_id, next_at, id) WHERE status = 'pending' AND mode = 'phone' AND converter_only;
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

-- Verification call-backs: a share of each interviewer's completes is called
-- back by another interviewer to confirm that the interview took place.
-- They are call tasks of their own, not cases: they are no part of the
-- sample and must not count in its dispositions and rates.
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
