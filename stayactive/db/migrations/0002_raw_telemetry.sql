-- Raw device data as TimescaleDB hypertables with 1-day chunks. The unique key of every row holds
-- its time column and the message's idempotency key (device_id, boot, seq), so a redelivered or
-- replayed message stores nothing twice. Arrays stay arrays: one row per frame, not per sample.

CREATE TABLE walker_frames (
    time        timestamptz NOT NULL,        -- first sample of the frame (device clock, UTC)
    device_id   text        NOT NULL,
    tenant_id   text        NOT NULL,
    boot        integer     NOT NULL CHECK (boot >= 0),
    seq         bigint      NOT NULL CHECK (seq >= 1),
    frame_no    smallint    NOT NULL CHECK (frame_no >= 0),
    rate_hz     real        NOT NULL CHECK (rate_hz > 0 AND rate_hz <= 200),
    acc_x       real[]      NOT NULL,        -- m/s², device frame, with gravity
    acc_y       real[]      NOT NULL,
    acc_z       real[]      NOT NULL,
    gyro_x      real[]      NOT NULL,        -- rad/s
    gyro_y      real[]      NOT NULL,
    gyro_z      real[]      NOT NULL,
    odo_l       real[]      NOT NULL,        -- m travelled since the previous sample
    odo_r       real[]      NOT NULL,
    force_l     real[]      NOT NULL,        -- N on the handle
    force_r     real[]      NOT NULL,
    brake       boolean[]   NOT NULL,
    received_at timestamptz NOT NULL,
    UNIQUE (device_id, boot, seq, frame_no, time),
    CHECK (cardinality(acc_x) BETWEEN 1 AND 2000
           AND cardinality(acc_y) = cardinality(acc_x) AND cardinality(acc_z) = cardinality(acc_x)
           AND cardinality(gyro_x) = cardinality(acc_x) AND cardinality(gyro_y) = cardinality(acc_x)
           AND cardinality(gyro_z) = cardinality(acc_x) AND cardinality(odo_l) = cardinality(acc_x)
           AND cardinality(odo_r) = cardinality(acc_x) AND cardinality(force_l) = cardinality(acc_x)
           AND cardinality(force_r) = cardinality(acc_x) AND cardinality(brake) = cardinality(acc_x))
);
SELECT create_hypertable('walker_frames', by_range('time', INTERVAL '1 day'));
CREATE INDEX walker_frames_device_time ON walker_frames (device_id, time DESC);

CREATE TABLE robot_events (
    time        timestamptz NOT NULL,        -- the event's `at`
    device_id   text        NOT NULL,
    tenant_id   text        NOT NULL,
    boot        integer     NOT NULL CHECK (boot >= 0),
    seq         bigint      NOT NULL CHECK (seq >= 1),
    event       text        NOT NULL CHECK (event IN
                    ('session_start', 'session_end', 'exercise', 'sit_to_stand_test')),
    session_id  text        NOT NULL,
    body        jsonb       NOT NULL,        -- the event's own fields, as validated
    received_at timestamptz NOT NULL,
    UNIQUE (device_id, boot, seq, time)
);
SELECT create_hypertable('robot_events', by_range('time', INTERVAL '1 day'));

CREATE TABLE device_status (
    time            timestamptz NOT NULL,    -- the status's `at` (device clock)
    device_id       text        NOT NULL,
    tenant_id       text        NOT NULL,
    boot            integer     NOT NULL CHECK (boot >= 0),
    seq             bigint      NOT NULL CHECK (seq >= 0),  -- 0: the last-will message
    state           text        NOT NULL CHECK (state IN ('online', 'offline', 'sleeping')),
    battery_pct     real        CHECK (battery_pct BETWEEN 0 AND 100),
    charging        boolean,
    firmware        text,
    rssi_dbm        real,
    buffered_n      integer     CHECK (buffered_n >= 0),
    clock_offset_ms real,
    config_id       integer,
    received_at     timestamptz NOT NULL,
    UNIQUE (device_id, boot, seq, time)
);
SELECT create_hypertable('device_status', by_range('time', INTERVAL '1 day'));

-- Messages that failed validation, kept as received for inspection.
CREATE TABLE ingest_rejects (
    reject_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    topic       text        NOT NULL,
    device_id   text,
    reason      text        NOT NULL,
    detail      text        NOT NULL DEFAULT '',
    payload     bytea       NOT NULL
);
CREATE INDEX ingest_rejects_received ON ingest_rejects (received_at);
CREATE INDEX ingest_rejects_device_reason ON ingest_rejects (device_id, reason);
