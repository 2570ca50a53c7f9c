-- A schedule's title is the name people read (Chinese, free text); its
-- name stays the short identifier that wave and outbox names are made of.
-- Existing schedules take their name as title until an admin gives one.
ALTER TABLE wave_schedules ADD COLUMN title text NOT NULL DEFAULT '';
UPDATE wave_schedules SET title = name;
ALTER TABLE wave_schedules ADD CONSTRAINT wave_schedules_title CHECK (char_length(title) BETWEEN 1 AND 60);
ALTER TABLE wave_schedules ALTER COLUMN title DROP DEFAULT;

ALTER TABLE export_schedules ADD COLUMN title text NOT NULL DEFAULT '';
UPDATE export_schedules SET title = name;
ALTER TABLE export_schedules ADD CONSTRAINT export_schedules_title CHECK (char_length(title) BETWEEN 1 AND 60);
ALTER TABLE export_schedules ALTER COLUMN title DROP DEFAULT;
