-- The interviewer's workspace (issue 16): the wave each group of
-- interviewers calls, notes on cases, call-backs found by number, and the
-- interviewer's own flow setting.

-- An interviewer's group (team). '' is the default group, which every
-- account is in until an admin or supervisor names another.
ALTER TABLE users ADD COLUMN team text NOT NULL DEFAULT '' CHECK (length(team) <= 40);
-- After an outcome is recorded the next case opens, unless turned off.
ALTER TABLE users ADD COLUMN auto_next boolean NOT NULL DEFAULT true;

-- The wave each group calls, chosen by a supervisor: a group with no row
-- calls nothing, and drawing a new wave moves no one. Only a drawn wave with
-- the telephone mode is chosen (checked where it is set).
CREATE TABLE team_waves (
    team     text PRIMARY KEY CHECK (length(team) <= 40),
    wave_id  bigint NOT NULL REFERENCES waves(id),
    set_by   bigint REFERENCES users(id),
    set_at   timestamptz NOT NULL DEFAULT now()
);

-- Notes on a case, for the next interviewer: left on the case, with an
-- appointment, or written by Minyi when the respondent called back and an
-- interviewer took the case. Append-only for the application (pg.AppendOnly);
-- no export reads this table.
CREATE TABLE case_notes (
    id          bigserial PRIMARY KEY,
    case_id     bigint NOT NULL REFERENCES cases(id),
    author_id   bigint NOT NULL REFERENCES users(id),
    kind        text NOT NULL CHECK (kind IN ('note', 'appointment', 'callback')),
    body        text NOT NULL CHECK (length(body) BETWEEN 1 AND 500),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_notes_case ON case_notes (case_id, id);

-- Every search for a call-back's number, so that searches can be capped per
-- interviewer and hour: the search looks at respondents' numbers.
CREATE TABLE callback_searches (
    user_id      bigint NOT NULL REFERENCES users(id),
    searched_at  timestamptz NOT NULL DEFAULT now(),
    digits       int NOT NULL,
    matches      int NOT NULL
);
CREATE INDEX callback_searches_user ON callback_searches (user_id, searched_at);
