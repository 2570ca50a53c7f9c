-- Questionnaire versions: who uploaded each, and a fast way to tell whether a
-- version has collected interviews (which freezes it).
ALTER TABLE questionnaires ADD COLUMN created_by bigint REFERENCES users(id) ON DELETE SET NULL;
CREATE INDEX interviews_questionnaire ON interviews (questionnaire_id);
