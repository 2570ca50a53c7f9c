INSERT INTO cases (wave_id, district_code, stratum, replicate, mode, phone, status)
SELECT $1, d.code, d.code, 1, 'phone', '1390' || lpad((row_number() OVER ())::text, 7, '0'), 'fresh'
FROM districts d CROSS JOIN generate_series(1, $2) g
