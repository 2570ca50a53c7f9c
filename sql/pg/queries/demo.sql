-- name: demo/imported-interviews
-- The keyed-in interviews already in the demo's wave: the demo imports its
-- interviews once.
SELECT count(*) FROM interviews WHERE wave_id = $1 AND source = 'import'
