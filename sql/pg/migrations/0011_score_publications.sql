-- Published scores: the long-form table exactly as first published, so that
-- re-scoring a wave later can be compared with what the assessment office
-- received.
CREATE TABLE score_publications (
    id                bigserial PRIMARY KEY,
    wave_id           bigint NOT NULL REFERENCES waves(id),
    questionnaire_id  bigint NOT NULL REFERENCES questionnaires(id),
    published_at      timestamptz NOT NULL DEFAULT now(),
    published_by      text NOT NULL,
    long_csv          text NOT NULL,
    sha256            text NOT NULL
);
CREATE INDEX score_publications_wave ON score_publications (wave_id, published_at DESC);
