-- Census margins for weighting, per-district expected completion rates,
-- scheduled waves with their run history, and background jobs.

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

-- A district's expected completion rate in a wave, where it differs from
-- the wave's (learned from past waves, or set by hand).
CREATE TABLE wave_district_rates (
    wave_id        bigint NOT NULL REFERENCES waves(id) ON DELETE CASCADE,
    district_code  text NOT NULL REFERENCES districts(code),
    expected_rate  double precision NOT NULL CHECK (expected_rate > 0 AND expected_rate <= 1),
    PRIMARY KEY (wave_id, district_code)
);

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
