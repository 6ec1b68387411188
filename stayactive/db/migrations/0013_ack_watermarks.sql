-- End-to-end acknowledgement (protocol v1, "Delivery"): per device, the (boot, seq) up to which
-- every message is committed. Ingest workers publish it, retained, on stayactive/v1/<id>/ack;
-- devices keep a message until the watermark covers it and replay what it does not.
-- Several workers commit a device's messages out of order, so the keys committed above the
-- watermark wait in ack_pending until the run below them is complete.

CREATE TABLE ack_watermarks (
    device_id  text        PRIMARY KEY,
    boot       bigint      NOT NULL,
    seq        bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ack_pending (
    device_id    text        NOT NULL,
    boot         bigint      NOT NULL,
    seq          bigint      NOT NULL,
    committed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device_id, boot, seq)
);

-- Record committed keys and move each device's watermark over the complete run above it. A gap
-- (a key that never comes: dropped from a full device buffer, a reject whose seq could not be
-- read, the first messages of a boot before this feature) is stepped over once the first key
-- after it has been committed for longer than p_gap; devices replay what is not covered well
-- before that. Returns the watermark of every device in the call (the caller republishes it).
CREATE FUNCTION advance_ack_watermarks(
    p_devices text[], p_boots bigint[], p_seqs bigint[], p_gap interval
) RETURNS TABLE (device_id text, boot bigint, seq bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    d      text;
    w_boot bigint;
    w_seq  bigint;
    n_boot bigint;
    n_seq  bigint;
    n_at   timestamptz;
    run_to bigint;
BEGIN
    INSERT INTO ack_pending AS p (device_id, boot, seq)
    SELECT * FROM unnest(p_devices, p_boots, p_seqs)
    ON CONFLICT DO NOTHING;
    FOR d IN SELECT DISTINCT u.d FROM unnest(p_devices) AS u(d) ORDER BY 1 LOOP  -- lock order
        INSERT INTO ack_watermarks AS a (device_id, boot, seq)
        SELECT d, min(p.boot), 0 FROM ack_pending p WHERE p.device_id = d
        ON CONFLICT DO NOTHING;
        SELECT a.boot, a.seq INTO w_boot, w_seq
        FROM ack_watermarks a WHERE a.device_id = d FOR UPDATE;
        LOOP
            DELETE FROM ack_pending p
            WHERE p.device_id = d AND (p.boot, p.seq) <= (w_boot, w_seq);
            -- the complete run w_seq+1, w_seq+2, … of the watermark's boot
            SELECT max(r.seq) INTO run_to FROM (
                SELECT p.seq, row_number() OVER (ORDER BY p.seq) AS rn
                FROM ack_pending p WHERE p.device_id = d AND p.boot = w_boot AND p.seq > w_seq
            ) AS r WHERE r.seq = w_seq + r.rn;
            IF run_to IS NOT NULL THEN
                w_seq := run_to;
                CONTINUE;
            END IF;
            SELECT p.boot, p.seq, p.committed_at INTO n_boot, n_seq, n_at
            FROM ack_pending p WHERE p.device_id = d ORDER BY p.boot, p.seq LIMIT 1;
            EXIT WHEN NOT FOUND OR n_at > now() - p_gap;
            w_boot := n_boot;  -- an old gap: step over it
            w_seq := n_seq;
        END LOOP;
        UPDATE ack_watermarks a SET boot = w_boot, seq = w_seq, updated_at = now()
        WHERE a.device_id = d AND (a.boot, a.seq) IS DISTINCT FROM (w_boot, w_seq);
        device_id := d;
        boot := w_boot;
        seq := w_seq;
        RETURN NEXT;
    END LOOP;
END;
$$;
