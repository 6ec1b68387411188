-- Derived tables of the analytics runner, and what tells it which resident-days to (re)compute.

-- Robot events get the time ingest wrote them, like walker frames, so the runner can find what
-- is new since its last run.
ALTER TABLE robot_events ADD COLUMN stored_at timestamptz NOT NULL DEFAULT clock_timestamp();
CREATE INDEX walker_frames_stored_at ON walker_frames (stored_at);
CREATE INDEX robot_events_stored_at ON robot_events (stored_at);

-- One row per resident and local day. A day without any data has walker_data and robot_data
-- false and NULL metrics: missing data never reads as inactivity.
CREATE TABLE resident_days (
    tenant_id              text        NOT NULL,
    resident_id            bigint      NOT NULL,
    day                    date        NOT NULL,
    metric_version         text        NOT NULL,
    computed_at            timestamptz NOT NULL DEFAULT now(),
    device_id              text,
    walker_data            boolean     NOT NULL,
    robot_data             boolean     NOT NULL,
    coverage               real        NOT NULL CHECK (coverage BETWEEN 0 AND 1),
    in_use_s               real,
    steps_n                integer,
    distance_m             real,
    walking_min            real,
    bouts_n                integer,
    bouts_10s_n            integer,
    bouts_30s_n            integer,
    bouts_60s_n            integer,
    bout_duration_median_s real,
    bout_duration_p90_s    real,
    gait_speed_median_mps  real,
    gait_speed_p90_mps     real,
    cadence_spm            real,
    stride_time_cv         real,
    turns_n                integer,
    sit_to_stands_n        integer,
    handle_load_n          real,
    handle_asymmetry       real,
    robot_sessions_n       integer,
    exercise_min           real,
    repetitions_n          integer,
    robot_sit_to_stands_n  integer,
    five_sts_s             real,
    PRIMARY KEY (resident_id, day),
    FOREIGN KEY (tenant_id, resident_id) REFERENCES residents (tenant_id, resident_id)
        ON DELETE CASCADE
);
CREATE INDEX resident_days_tenant_day ON resident_days (tenant_id, day);

CREATE TABLE stay_trajectories (
    stay_id                  bigint PRIMARY KEY REFERENCES stays ON DELETE CASCADE,
    tenant_id                text        NOT NULL,
    metric_version           text        NOT NULL,
    computed_at              timestamptz NOT NULL DEFAULT now(),
    n_days                   integer     NOT NULL,
    n_days_with_data         integer     NOT NULL,
    gait_speed_baseline_mps  real,
    gait_speed_latest_mps    real,
    gait_speed_change_mps    real,
    gait_speed_slope_per_day real,
    gait_speed_slope_low     real,
    gait_speed_slope_high    real,
    gait_speed_change_class  text,
    steps_baseline           real,
    steps_latest             real,
    steps_change             real,
    steps_slope_per_day      real,
    steps_slope_low          real,
    steps_slope_high         real,
    days_to_community_speed  integer,
    declining_3d             boolean     NOT NULL,
    steps_declining_3d       boolean     NOT NULL,
    flags                    text[]      NOT NULL DEFAULT '{}'
);

-- Resident-days whose inputs changed: late data, a new or corrected assignment.
CREATE TABLE analytics_dirty (
    resident_id bigint NOT NULL REFERENCES residents ON DELETE CASCADE,
    day         date   NOT NULL,
    marked_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (resident_id, day)
);

-- How far the runner has looked at raw data (by the time ingest stored it).
CREATE TABLE analytics_watermark (
    source     text PRIMARY KEY CHECK (source IN ('walker_frames', 'robot_events')),
    stored_to  timestamptz NOT NULL
);

-- Every local day up to today that an assignment touches, in the tenant's time zone (at most
-- 400 days). Later days are marked when their data arrives.
CREATE FUNCTION assignment_days(tenant text, valid tstzrange) RETURNS SETOF date
LANGUAGE sql STABLE AS $$
    SELECT generate_series(
        (lower(valid) AT TIME ZONE t.time_zone)::date,
        (least(coalesce(upper(valid), now()), now()) AT TIME ZONE t.time_zone)::date,
        interval '1 day')::date
    FROM tenants t WHERE t.tenant_id = tenant
    LIMIT 400
$$;

-- A new, changed or removed assignment re-attributes data: recompute the days it touched.
CREATE FUNCTION mark_assignment_days() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO analytics_dirty (resident_id, day)
        SELECT OLD.resident_id, d FROM assignment_days(OLD.tenant_id, OLD.valid) AS d
        ON CONFLICT DO NOTHING;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO analytics_dirty (resident_id, day)
        SELECT NEW.resident_id, d FROM assignment_days(NEW.tenant_id, NEW.valid) AS d
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER device_assignments_mark_days AFTER INSERT OR UPDATE OR DELETE
    ON device_assignments FOR EACH ROW EXECUTE FUNCTION mark_assignment_days();
