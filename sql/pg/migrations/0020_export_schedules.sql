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
