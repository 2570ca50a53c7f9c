-- The respondent's answer to the questionnaire's consent script, read by
-- the interviewer on the case page when someone answers (issue 16): agreed,
-- and the interview starts; refused, and the case is a refusal. Distinct
-- from a call's recording consent (calls.consent). Append-only for the
-- application (pg.AppendOnly): an answer is never rewritten, a later one is
-- added.
CREATE TABLE participation_consents (
    id                bigserial PRIMARY KEY,
    case_id           bigint NOT NULL REFERENCES cases(id),
    questionnaire_id  bigint REFERENCES questionnaires(id),
    interviewer_id    bigint NOT NULL REFERENCES users(id),
    answer            text NOT NULL CHECK (answer IN ('yes', 'no')),
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX participation_consents_case ON participation_consents (case_id, id);
