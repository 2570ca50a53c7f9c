INSERT INTO replicates (wave_id, district_code, number, opened_at, opened_by)
SELECT $1, code, 1, now(), 'draw' FROM districts
