-- Review of interviews, their change history and paradata.
--
-- A supervisor approves a flagged interview, sends it back to its
-- interviewer with a note, or marks it invalid with a reason. An invalid
-- interview is left out of every estimate but never deleted. row_version
-- counts the changes, so that two people editing one interview at once
-- cannot overwrite each other unseen (optimistic locking).
ALTER TABLE interviews
    ADD COLUMN review_status text NOT NULL DEFAULT 'none'
        CHECK (review_status IN ('none', 'approved', 'returned', 'corrected', 'invalid')),
    ADD COLUMN review_note text NOT NULL DEFAULT '',
    ADD COLUMN reviewed_by bigint REFERENCES users(id),
    ADD COLUMN reviewed_at timestamptz,
    ADD COLUMN row_version int NOT NULL DEFAULT 1;

CREATE INDEX interviews_review ON interviews (wave_id, review_status) WHERE review_status <> 'none';

CREATE FUNCTION interviews_never_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'interviews are never deleted: mark them invalid instead';
END;
$$;
CREATE TRIGGER interviews_no_delete BEFORE DELETE ON interviews
    FOR EACH ROW EXECUTE FUNCTION interviews_never_deleted();

-- Every change to an interview after it was saved: an answer, or its review
-- status. Append-only, like the audit log, which records the same changes
-- in its hash chain.
CREATE TABLE interview_changes (
    id            bigserial PRIMARY KEY,
    interview_id  bigint NOT NULL REFERENCES interviews(id),
    field         text NOT NULL,
    old_value     text NOT NULL DEFAULT '',
    new_value     text NOT NULL DEFAULT '',
    note          text NOT NULL DEFAULT '',
    changed_by    bigint NOT NULL REFERENCES users(id),
    changed_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX interview_changes_interview ON interview_changes (interview_id, id);
CREATE TRIGGER interview_changes_no_update BEFORE UPDATE OR DELETE ON interview_changes
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- Paradata: how an interview was filled in. Start, end and interviewer are
-- on the interview; here are the device, the time spent on each question
-- (milliseconds) and every change of an answer given before.
CREATE TABLE interview_paradata (
    interview_id  bigint PRIMARY KEY REFERENCES interviews(id),
    device        text NOT NULL DEFAULT '',
    user_agent    text NOT NULL DEFAULT '',
    question_ms   jsonb NOT NULL DEFAULT '{}',
    changes       jsonb NOT NULL DEFAULT '[]'
);

-- The paradata gathered so far travels with the draft, so that a resumed
-- interview keeps the time already spent.
ALTER TABLE interview_drafts ADD COLUMN paradata jsonb NOT NULL DEFAULT '{}';

-- Paper forms keyed twice: two operators enter the same form independently;
-- the interview is stored only when both entries agree, or when a
-- supervisor has resolved every difference.
ALTER TABLE interviews DROP CONSTRAINT interviews_source_check;
ALTER TABLE interviews ADD CONSTRAINT interviews_source_check CHECK (source IN ('cati', 'capi', 'import', 'paper'));

CREATE TABLE paper_forms (
    id            bigserial PRIMARY KEY,
    wave_id       bigint NOT NULL REFERENCES waves(id),
    form_number   text NOT NULL CHECK (form_number ~ '^[A-Za-z0-9_-]{1,40}$'),
    status        text NOT NULL DEFAULT 'entering' CHECK (status IN ('entering', 'mismatch', 'accepted')),
    interview_id  bigint REFERENCES interviews(id),
    resolved_by   bigint REFERENCES users(id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (wave_id, form_number)
);

CREATE TABLE paper_entries (
    form_id      bigint NOT NULL REFERENCES paper_forms(id),
    entry        smallint NOT NULL CHECK (entry IN (1, 2)),
    operator_id  bigint NOT NULL REFERENCES users(id),
    answers      jsonb NOT NULL,
    entered_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (form_id, entry),
    UNIQUE (form_id, operator_id)
);
