-- Review queues that page through a wave of tens of thousands of
-- interviews. Whether an interview is straight-lined (the same answer to
-- every indicator question of its questionnaire version) was worked out
-- for every interview of the wave on every look at the review list; it is
-- kept on the row instead, set whenever its answers are written, so that
-- counting and filtering the flagged ones reads columns. Not part of the
-- interview's evidence hash: it follows from the answers.
ALTER TABLE interviews ADD COLUMN straight_lined boolean NOT NULL DEFAULT false;

CREATE FUNCTION interviews_straight_lined() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- count(DISTINCT) leaves unanswered questions out, as the review list
    -- always did: one indicator answered counts as straight-lined.
    SELECT count(DISTINCT NEW.answers ->> (q ->> 'id')) = 1 INTO NEW.straight_lined
    FROM questionnaires qn, jsonb_array_elements(qn.definition -> 'questions') q
    WHERE qn.id = NEW.questionnaire_id AND q ->> 'section' = 'indicator';
    RETURN NEW;
END
$$;
CREATE TRIGGER interviews_straight_lined BEFORE INSERT OR UPDATE OF answers, questionnaire_id ON interviews
    FOR EACH ROW EXECUTE FUNCTION interviews_straight_lined();

UPDATE interviews i SET straight_lined = s.v
FROM (SELECT i2.id, count(DISTINCT i2.answers ->> (q ->> 'id')) = 1 AS v
      FROM interviews i2 JOIN questionnaires qn ON qn.id = i2.questionnaire_id,
           jsonb_array_elements(qn.definition -> 'questions') q
      WHERE q ->> 'section' = 'indicator'
      GROUP BY i2.id) s
WHERE s.id = i.id AND s.v;

-- The lists, newest first within a wave: what is still to review, and the
-- decisions taken. Counting the flagged ones of a wave reads every
-- interview still to review; the first index covers every column that
-- takes, so that it is read without visiting the table (60,000 rows: tens
-- of milliseconds instead of hundreds).
CREATE INDEX interviews_to_review ON interviews (wave_id, completed_at DESC, id DESC)
    INCLUDE (district_code, interviewer_id, source, started_at, straight_lined, review_status, case_id)
    WHERE review_status IN ('none', 'corrected');
CREATE INDEX interviews_reviewed ON interviews (wave_id, reviewed_at DESC, id DESC)
    WHERE review_status <> 'none';
CREATE INDEX interviews_returned_to ON interviews (interviewer_id, reviewed_at, id)
    WHERE review_status = 'returned';
-- Each interviewer's median interview length on the supervision page,
-- read from the index alone.
CREATE INDEX interviews_interviewer_length ON interviews (wave_id, interviewer_id) INCLUDE (started_at, completed_at);
-- Every appointment of a wave, whatever its mode.
CREATE INDEX cases_appointments ON cases (wave_id, next_at, id) WHERE status = 'appointment';
-- The jobs page, newest first, and the audit page by who and what.
CREATE INDEX jobs_started ON jobs (started_at DESC, id DESC);
CREATE INDEX audit_log_actor ON audit_log (actor_id, seq DESC);
CREATE INDEX audit_log_action ON audit_log (action, seq DESC);
