-- The id range of a wave's interviews, found at once: scoring splits a
-- large wave into id ranges read side by side.
CREATE INDEX interviews_wave_id ON interviews (wave_id, id);
