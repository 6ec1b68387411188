-- Ingest against hostile and buggy devices (issue 16).
--
-- 1. Storage types that hold every value the protocol allows: the schemas allow boot, buffered_n
--    and config_id up to 2^53-1, which int4 wrapped or refused. Ingest range-checks the rest
--    (real columns) before COPY.
-- 2. (device_id, boot, seq) alone is the idempotency key. A hypertable's unique keys must hold
--    its time column, so a replay with another `at` or `t0` was stored again; this key table
--    (one row per message, not per frame) decides instead, with the payload's SHA-256 so that a
--    replay with different content is told apart from a plain duplicate.
-- 3. Bounded rejects: a prefix of the payload with its size and SHA-256, one row per
--    (device, reason, boot, seq) however often the message is redelivered, and counts (not
--    payloads) of what a device sent beyond its reject rate limit.

ALTER TABLE walker_frames ALTER COLUMN boot TYPE bigint;
ALTER TABLE robot_events ALTER COLUMN boot TYPE bigint;
ALTER TABLE device_status
    ALTER COLUMN boot TYPE bigint,
    ALTER COLUMN buffered_n TYPE bigint,
    ALTER COLUMN config_id TYPE bigint;
ALTER TABLE device_latest_status
    ALTER COLUMN buffered_n TYPE bigint,
    ALTER COLUMN config_id TYPE bigint;

CREATE TABLE message_keys (
    device_id      text        NOT NULL,
    boot           bigint      NOT NULL CHECK (boot >= 0),
    seq            bigint      NOT NULL CHECK (seq >= 1),  -- the last will (seq 0) is keyed by its time
    payload_sha256 bytea       CHECK (octet_length(payload_sha256) = 32),  -- NULL: stored before 0008
    stored_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device_id, boot, seq)
);
-- `db maintain` deletes keys older than the retention window: a replay that old is rejected as
-- timestamp_too_old before it could need its key.
CREATE INDEX message_keys_stored_at ON message_keys USING brin (stored_at);
INSERT INTO message_keys (device_id, boot, seq)
    SELECT device_id, boot, seq FROM walker_frames
    UNION SELECT device_id, boot, seq FROM robot_events
    UNION SELECT device_id, boot, seq FROM device_status WHERE seq > 0;

ALTER TABLE ingest_rejects
    ADD COLUMN payload_size      integer,
    ADD COLUMN payload_sha256    bytea,
    ADD COLUMN boot              bigint,
    ADD COLUMN seq               bigint,
    ADD COLUMN stored_sha256     bytea,   -- key_conflict: the payload already stored under the key
    ADD COLUMN dedupe_key        bytea;   -- SHA-256 of (device, reason, boot, seq) or of the payload
UPDATE ingest_rejects
    SET payload_size = octet_length(payload), payload_sha256 = sha256(payload),
        payload = substring(payload FROM 1 FOR 4096);
ALTER TABLE ingest_rejects
    ALTER COLUMN payload_size SET NOT NULL,
    ALTER COLUMN payload_sha256 SET NOT NULL;
CREATE UNIQUE INDEX ingest_rejects_dedupe ON ingest_rejects (dedupe_key);
COMMENT ON COLUMN ingest_rejects.payload IS
    'the first 4096 bytes of the payload as received (payload_size and payload_sha256 are of all of it)';

-- What a device sent beyond its reject rate limit, counted per hour instead of kept.
CREATE TABLE ingest_reject_overflow (
    device_id        text        NOT NULL,   -- '' when the topic named no device (bad_topic)
    reason           text        NOT NULL,
    window_start     timestamptz NOT NULL,   -- the hour the rejects were received in
    suppressed_n     bigint      NOT NULL CHECK (suppressed_n >= 0),
    payload_bytes    bigint      NOT NULL CHECK (payload_bytes >= 0),
    last_received_at timestamptz NOT NULL,
    PRIMARY KEY (device_id, reason, window_start)
);
