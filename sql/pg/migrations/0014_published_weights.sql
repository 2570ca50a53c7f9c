-- The final weight of every interview as the scores were published: base
-- weight from the draw, post-stratified or raked to the census margins, or
-- the weight given on import. Kept with the publication, so that the
-- weights behind published scores can be shown and re-derived later.
CREATE TABLE published_weights (
    publication_id  bigint NOT NULL REFERENCES score_publications(id),
    interview_id    bigint NOT NULL REFERENCES interviews(id),
    weight          double precision NOT NULL CHECK (weight > 0),
    PRIMARY KEY (publication_id, interview_id)
);
