-- Device statuses get the time ingest wrote them, like walker frames and robot events, so the
-- analytics runner also recomputes a resident-day when a status arrives late (a device's
-- offline buffer replayed after an outage): statuses say when a walker could record, which is
-- the day's coverage and the difference between "no data" and "0 steps".
ALTER TABLE device_status ADD COLUMN stored_at timestamptz NOT NULL DEFAULT clock_timestamp();
CREATE INDEX device_status_stored_at ON device_status (stored_at);

ALTER TABLE analytics_watermark DROP CONSTRAINT analytics_watermark_source_check,
    ADD CONSTRAINT analytics_watermark_source_check
    CHECK (source IN ('walker_frames', 'robot_events', 'device_status'));

-- The statuses already stored have been seen by every run so far (their days were computed
-- from them); where the runner has run, start their watermark here rather than recomputing
-- every day that has a status.
INSERT INTO analytics_watermark (source, stored_to)
SELECT 'device_status', clock_timestamp()
WHERE EXISTS (SELECT 1 FROM analytics_watermark WHERE source = 'walker_frames');

UPDATE data_catalogue SET retention = 'three rows (walker frames, robot events, device statuses), overwritten'
WHERE table_name = 'analytics_watermark';
