-- Door-to-door fieldwork: the communities of a wave's door-to-door sample
-- are assigned to field interviewers, who visit each household up to
-- max_visits times.
ALTER TABLE waves ADD COLUMN max_visits int NOT NULL DEFAULT 4 CHECK (max_visits BETWEEN 1 AND 12);

-- The field interviewer a door-to-door case is assigned to. It is kept on
-- the case, not only on its community, because a reassignment moves only the
-- unfinished cases: a finished case stays with whoever finished it.
ALTER TABLE cases ADD COLUMN assigned_to bigint REFERENCES users(id);
CREATE INDEX cases_assigned ON cases (assigned_to, wave_id) WHERE assigned_to IS NOT NULL;

-- Who works each community of a wave's door-to-door sample now.
CREATE TABLE field_assignments (
    wave_id         bigint NOT NULL REFERENCES waves(id),
    district_code   text NOT NULL REFERENCES districts(code),
    street          text NOT NULL,
    community       text NOT NULL,
    interviewer_id  bigint NOT NULL REFERENCES users(id),
    assigned_by     bigint REFERENCES users(id),
    assigned_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (wave_id, district_code, street, community)
);
