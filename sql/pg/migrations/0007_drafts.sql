-- Interview drafts: the answers given so far to an interview in progress,
-- kept on the server so that a closed tab, a lost connection or a browser
-- restart does not lose them. One draft per case; it is deleted in the
-- transaction that saves the interview, screens the respondent out or
-- records a break-off. version counts the writes, so that a stale page (a
-- second tab) cannot overwrite newer answers without being told.
CREATE TABLE interview_drafts (
    case_id           bigint PRIMARY KEY REFERENCES cases(id) ON DELETE CASCADE,
    interviewer_id    bigint NOT NULL REFERENCES users(id),
    answers           jsonb NOT NULL DEFAULT '{}',
    current_question  text NOT NULL DEFAULT '',
    key               text NOT NULL,
    started_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    version           int NOT NULL DEFAULT 1
);

-- A break-off late enough to count as a partial interview (AAPOR 1.2) is
-- stored with the answers given, flagged so that reports can tell it apart.
ALTER TABLE interviews ADD COLUMN partial boolean NOT NULL DEFAULT false;
