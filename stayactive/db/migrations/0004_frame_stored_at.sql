-- When ingest wrote each frame row (just before its batch commits): with the frames' own times
-- this gives the ingest lag of every message after the fact, e.g. for `stayactive bench ingest`.
ALTER TABLE walker_frames ADD COLUMN stored_at timestamptz NOT NULL DEFAULT clock_timestamp();
