-- Foundation schema: districts, users and sessions, questionnaires, waves,
-- the telephone frame, draws, cases and their attempts, interviews.

CREATE TABLE districts (
    code        text PRIMARY KEY,
    name        text NOT NULL,
    population  bigint NOT NULL CHECK (population >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id             bigserial PRIMARY KEY,
    username       text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9_.-]{2,64}$'),
    display_name   text NOT NULL DEFAULT '',
    password_hash  text NOT NULL,
    role           text NOT NULL CHECK (role IN ('admin','supervisor','interviewer','field_interviewer','office')),
    active         boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now()
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

-- A questionnaire version is immutable once it has collected an interview;
-- the score map (code -> points) belongs to the version.
CREATE TABLE questionnaires (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL,
    version     int NOT NULL,
    definition  jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (name, version)
);

CREATE TABLE waves (
    id                bigserial PRIMARY KEY,
    name              text NOT NULL UNIQUE,
    rate              double precision NOT NULL DEFAULT 0.002 CHECK (rate > 0 AND rate <= 1),
    min_per_district  int NOT NULL DEFAULT 2 CHECK (min_per_district >= 0),
    expected_rate     double precision NOT NULL DEFAULT 0.5 CHECK (expected_rate > 0 AND expected_rate <= 1),
    modes             text[] NOT NULL DEFAULT '{phone}',
    questionnaire_id  bigint REFERENCES questionnaires(id),
    created_at        timestamptz NOT NULL DEFAULT now()
);

-- Telephone frame. ordinal is dense 1..N within a district hint so that a
-- simple random sample fetches only the drawn rows.
CREATE TABLE phone_frame (
    id             bigserial PRIMARY KEY,
    phone          text NOT NULL UNIQUE,
    district_code  text REFERENCES districts(code),
    ordinal        bigint NOT NULL
);
CREATE UNIQUE INDEX phone_frame_stratum_ordinal ON phone_frame (coalesce(district_code, ''), ordinal);

CREATE TABLE draws (
    id              bigserial PRIMARY KEY,
    wave_id         bigint NOT NULL UNIQUE REFERENCES waves(id),
    algorithm       text NOT NULL,
    version         int NOT NULL,
    seed            bigint NOT NULL,
    frame_checksum  text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE allocations (
    wave_id        bigint NOT NULL REFERENCES waves(id),
    district_code  text NOT NULL REFERENCES districts(code),
    population     bigint NOT NULL,
    target         int NOT NULL,
    released       int NOT NULL,
    PRIMARY KEY (wave_id, district_code)
);

-- A case is one sampled unit in one wave. held_by/held_until is the lease of
-- the interviewer working it; row locks make the lease exclusive.
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
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cases_queue ON cases (wave_id, priority DESC, next_at NULLS FIRST, id) WHERE status <> 'final';
CREATE INDEX cases_held ON cases (held_by) WHERE held_by IS NOT NULL;

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

-- One row per completed interview. answers holds every question's code by
-- question id; the questionnaire version says how to score them.
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
    source            text NOT NULL CHECK (source IN ('cati','capi','import')),
    started_at        timestamptz,
    completed_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (wave_id, external_id)
);
CREATE INDEX interviews_wave_district ON interviews (wave_id, district_code);
