-- Indexes for the fleet view's message and reject counts per device (GET /api/v1/fleet):
-- the last hour and the last 24 hours of one device are then an index range each, however
-- large the ingest tables grow and however many devices share them.
--
-- A telemetry message stores one walker_frames row per frame, numbered from 0 (frame_no):
-- the rows with frame_no 0 are the messages, so a partial index holds one entry per message
-- (about a fifth of the rows at the factory default of five 1 s frames per upload).

CREATE INDEX walker_frames_messages ON walker_frames (device_id, time DESC) WHERE frame_no = 0;
CREATE INDEX robot_events_device_time ON robot_events (device_id, time DESC);
CREATE INDEX device_status_device_time ON device_status (device_id, time DESC);
CREATE INDEX ingest_rejects_device_received ON ingest_rejects (device_id, received_at DESC);
