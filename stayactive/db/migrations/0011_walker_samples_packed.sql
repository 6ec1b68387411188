-- Walker samples packed in two bytea columns instead of eleven arrays.
--
-- Why: PostgreSQL sends (and receives) a real[] element by element, about 45 ns of server CPU
-- per value. A resident-day with two hours of walking holds some 450,000 samples of ten
-- channels, so reading it cost ~145 ms of server CPU before the client saw a byte, while a
-- bytea goes out as one memcpy (~8 ms for the same day). docs/performance.md has the figures.
--
-- Layout of one frame of n samples (docs/protocol.md describes the wire, this is storage):
--   samples     n × 10 IEEE-754 float32, big-endian (network order, as float4send writes them),
--               sample-major: per sample acc_x, acc_y, acc_z, gyro_x, gyro_y, gyro_z, odo_l,
--               odo_r, force_l, force_r (40 bytes per sample);
--   brake_mask  n bytes, 1 while the parking brake was engaged, else 0.
-- Being sample-major, a resident-day's frames concatenated are one (N, 10) float32 matrix.
--
-- Writers that still send the eleven arrays keep working: a trigger packs them (about 60 µs
-- per frame of server CPU, so ingest writes the packed columns itself) and clears the arrays.
-- The array columns stay only as that input; a later migration may drop them once no writer
-- sends them.

CREATE FUNCTION walker_pack_samples(
    acc_x real[], acc_y real[], acc_z real[], gyro_x real[], gyro_y real[], gyro_z real[],
    odo_l real[], odo_r real[], force_l real[], force_r real[]
) RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    -- A NULL element makes its sample NULL, which string_agg skips: the length check of the
    -- table then refuses the row rather than storing shifted samples.
    SELECT string_agg(float4send(a) || float4send(b) || float4send(c) || float4send(d)
                      || float4send(e) || float4send(f) || float4send(g) || float4send(h)
                      || float4send(k) || float4send(l), ''::bytea ORDER BY i)
    FROM unnest(acc_x, acc_y, acc_z, gyro_x, gyro_y, gyro_z, odo_l, odo_r, force_l, force_r)
         WITH ORDINALITY AS u(a, b, c, d, e, f, g, h, k, l, i)
$$;

CREATE FUNCTION walker_pack_brake(brake boolean[]) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT string_agg(CASE WHEN b THEN '\x01'::bytea WHEN NOT b THEN '\x00'::bytea END,
                      ''::bytea ORDER BY i)
    FROM unnest(brake) WITH ORDINALITY AS u(b, i)
$$;

-- One channel of packed samples as an array, for people reading the table by hand
-- (channel 1 = acc_x … 10 = force_r).
CREATE FUNCTION walker_channel(samples bytea, channel integer) RETURNS real[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT array_agg(
        CASE WHEN bits & 2147483647 = 0 THEN 0.0::real
             ELSE ((CASE WHEN bits < 0 THEN -1 ELSE 1 END)
                   * (1.0 + ((bits & 8388607)::float8 / 8388608.0))
                   * power(2.0::float8, ((bits >> 23) & 255) - 127))::real END
        ORDER BY i)
    FROM (SELECT i, ('x' || encode(substring(samples FROM (i - 1) * 40 + (channel - 1) * 4 + 1
                                             FOR 4), 'hex'))::bit(32)::integer AS bits
          FROM generate_series(1, length(samples) / 40) AS i) AS s
$$;
COMMENT ON FUNCTION walker_channel(bytea, integer) IS
    'one channel of walker_frames.samples as real[] (normal numbers; for inspection only)';

ALTER TABLE walker_frames ADD COLUMN samples bytea, ADD COLUMN brake_mask bytea;
ALTER TABLE walker_frames
    ALTER COLUMN acc_x DROP NOT NULL, ALTER COLUMN acc_y DROP NOT NULL,
    ALTER COLUMN acc_z DROP NOT NULL, ALTER COLUMN gyro_x DROP NOT NULL,
    ALTER COLUMN gyro_y DROP NOT NULL, ALTER COLUMN gyro_z DROP NOT NULL,
    ALTER COLUMN odo_l DROP NOT NULL, ALTER COLUMN odo_r DROP NOT NULL,
    ALTER COLUMN force_l DROP NOT NULL, ALTER COLUMN force_r DROP NOT NULL,
    ALTER COLUMN brake DROP NOT NULL,
    DROP CONSTRAINT walker_frames_check;
UPDATE walker_frames SET
    samples = walker_pack_samples(acc_x, acc_y, acc_z, gyro_x, gyro_y, gyro_z,
                                  odo_l, odo_r, force_l, force_r),
    brake_mask = walker_pack_brake(brake),
    acc_x = NULL, acc_y = NULL, acc_z = NULL, gyro_x = NULL, gyro_y = NULL, gyro_z = NULL,
    odo_l = NULL, odo_r = NULL, force_l = NULL, force_r = NULL, brake = NULL;

-- A CHECK rather than NOT NULL: the trigger below fills the columns before checks run, and a
-- staging table made LIKE this one must accept rows without them.
ALTER TABLE walker_frames ADD CONSTRAINT walker_frames_packed CHECK (
    samples IS NOT NULL AND brake_mask IS NOT NULL
    AND length(brake_mask) BETWEEN 1 AND 2000
    AND length(samples) = 40 * length(brake_mask)
    AND num_nonnulls(acc_x, acc_y, acc_z, gyro_x, gyro_y, gyro_z, odo_l, odo_r, force_l,
                     force_r, brake) = 0);
-- Rows of up to ~200 samples stay inline and uncompressed: pglz gains little on sensor floats
-- and would cost CPU on every write and read.
ALTER TABLE walker_frames SET (toast_tuple_target = 8160);
ALTER TABLE walker_frames ALTER COLUMN samples SET STORAGE EXTERNAL,
                          ALTER COLUMN brake_mask SET STORAGE EXTERNAL;

CREATE FUNCTION walker_frames_pack() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Incomplete or unequal arrays are left as they are, for the CHECK to refuse the row.
    IF num_nonnulls(NEW.acc_x, NEW.acc_y, NEW.acc_z, NEW.gyro_x, NEW.gyro_y, NEW.gyro_z,
                    NEW.odo_l, NEW.odo_r, NEW.force_l, NEW.force_r, NEW.brake) = 11
       AND cardinality(NEW.brake) = ALL (ARRAY[
           cardinality(NEW.acc_x), cardinality(NEW.acc_y), cardinality(NEW.acc_z),
           cardinality(NEW.gyro_x), cardinality(NEW.gyro_y), cardinality(NEW.gyro_z),
           cardinality(NEW.odo_l), cardinality(NEW.odo_r), cardinality(NEW.force_l),
           cardinality(NEW.force_r)]) THEN
        NEW.samples := walker_pack_samples(NEW.acc_x, NEW.acc_y, NEW.acc_z, NEW.gyro_x,
                                           NEW.gyro_y, NEW.gyro_z, NEW.odo_l, NEW.odo_r,
                                           NEW.force_l, NEW.force_r);
        NEW.brake_mask := walker_pack_brake(NEW.brake);
        NEW.acc_x := NULL; NEW.acc_y := NULL; NEW.acc_z := NULL;
        NEW.gyro_x := NULL; NEW.gyro_y := NULL; NEW.gyro_z := NULL;
        NEW.odo_l := NULL; NEW.odo_r := NULL; NEW.force_l := NULL; NEW.force_r := NULL;
        NEW.brake := NULL;
    END IF;
    RETURN NEW;
END $$;

-- WHEN keeps the packed writers (ingest) free of any per-row PL/pgSQL call.
CREATE TRIGGER walker_frames_pack BEFORE INSERT ON walker_frames FOR EACH ROW
    WHEN (NEW.samples IS NULL) EXECUTE FUNCTION walker_frames_pack();

-- The analytics read a device's frames in (time, boot, seq, frame_no) order: an index in that
-- order spares the server a sort of the day's frames, ~18 MB for a heavy day. It replaces the
-- (device_id, time DESC) index, which it serves as well (scanned backwards).
DROP INDEX walker_frames_device_time;
CREATE INDEX walker_frames_device_frame_order ON walker_frames (device_id, time, boot, seq, frame_no);
