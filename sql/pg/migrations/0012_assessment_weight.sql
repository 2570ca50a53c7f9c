-- The poll's share of a district leadership's annual assessment: 30% in the
-- scheme the poll was built for, set per wave so that another scheme needs
-- no new release.
ALTER TABLE waves ADD COLUMN assessment_weight double precision NOT NULL DEFAULT 0.30
    CHECK (assessment_weight > 0 AND assessment_weight <= 1);
