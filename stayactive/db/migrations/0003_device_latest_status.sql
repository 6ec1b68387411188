-- The latest status of every device, upserted by ingest: what the fleet view shows.
-- Ordered by receive time, not device time: the last will carries the time its connection opened.

CREATE TABLE device_latest_status (
    device_id          text PRIMARY KEY,
    tenant_id          text        NOT NULL,
    last_seen_at       timestamptz NOT NULL,   -- receive time of the newest message of any kind
    status_time        timestamptz,            -- `at` of the newest status (device clock)
    status_received_at timestamptz,
    state              text CHECK (state IN ('online', 'offline', 'sleeping')),
    battery_pct        real,
    charging           boolean,
    firmware           text,
    rssi_dbm           real,
    buffered_n         integer,
    clock_offset_ms    real,                   -- the device's own estimate
    config_id          integer,
    -- Receive time minus the device's send time of the newest live status (buffer empty):
    -- network delay plus clock error. Large values mean the device clock is wrong.
    clock_skew_ms      real,
    clock_suspect      boolean GENERATED ALWAYS AS
                           (abs(coalesce(clock_skew_ms, 0)) > 60000
                            OR abs(coalesce(clock_offset_ms, 0)) > 5000) STORED
);
CREATE INDEX device_latest_status_tenant ON device_latest_status (tenant_id);
