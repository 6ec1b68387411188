-- A device clock that is behind looks exactly like a message that waited in the device's buffer
-- or the broker, so receive time minus send time cannot flag it. What can be told: the device's
-- own estimate (clock_offset_ms from its time sync) and a send time after the receive time
-- (device clock ahead by more than network jitter).
ALTER TABLE device_latest_status DROP COLUMN clock_suspect;
ALTER TABLE device_latest_status ADD COLUMN clock_suspect boolean GENERATED ALWAYS AS
    (abs(coalesce(clock_offset_ms, 0)) > 5000 OR coalesce(clock_skew_ms, 0) < -10000) STORED;
COMMENT ON COLUMN device_latest_status.clock_skew_ms IS
    'receive time minus send time of the newest status sent with an empty buffer, ms';
