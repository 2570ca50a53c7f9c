-- A wave ready to be called without drawing it from a frame: the draw
-- record, one open replicate per district and fresh cases in it.
INSERT INTO draws (wave_id, algorithm, version, seed, frame_checksum) VALUES ($1, 'bench-seed', 1, 1, '')
