-- Registry: tenants, sites, wards, devices, residents, stays, assignments, consents, users, audit.
-- Composite foreign keys on (tenant_id, …) make it impossible to link rows of two tenants.

CREATE FUNCTION is_time_zone(tz text) RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
    PERFORM now() AT TIME ZONE tz;
    RETURN true;
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN false;
END $$;

CREATE TABLE tenants (
    tenant_id  text PRIMARY KEY CHECK (tenant_id ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    name       text NOT NULL,
    time_zone  text NOT NULL DEFAULT 'Europe/Oslo' CHECK (is_time_zone(time_zone)),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sites (
    site_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id text NOT NULL REFERENCES tenants,
    name      text NOT NULL CHECK (name <> ''),
    UNIQUE (tenant_id, name),
    UNIQUE (tenant_id, site_id)
);

CREATE TABLE wards (
    ward_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   text NOT NULL,
    site_id     bigint NOT NULL,
    name        text NOT NULL CHECK (name <> ''),
    -- The day devices came into use on the ward; NULL for wards without devices (comparison).
    go_live_on  date,
    UNIQUE (site_id, name),
    UNIQUE (tenant_id, ward_id),
    FOREIGN KEY (tenant_id, site_id) REFERENCES sites (tenant_id, site_id)
);

CREATE TABLE devices (
    device_id  text PRIMARY KEY CHECK (device_id ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'),
    tenant_id  text NOT NULL REFERENCES tenants,
    kind       text NOT NULL CHECK (kind IN ('walker', 'robot')),
    serial     text NOT NULL CHECK (serial <> ''),
    firmware   text,
    ward_id    bigint,
    active     boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, serial),
    UNIQUE (tenant_id, device_id),
    FOREIGN KEY (tenant_id, ward_id) REFERENCES wards (tenant_id, ward_id)
);

-- Residents are known by pseudonym only; no names, no national identity numbers here.
CREATE TABLE residents (
    resident_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   text NOT NULL REFERENCES tenants,
    pseudonym   text NOT NULL CHECK (pseudonym ~ '^[A-Za-z0-9_-]{4,64}$'),
    birth_year  smallint CHECK (birth_year BETWEEN 1900 AND 2100),
    sex         text NOT NULL DEFAULT 'unknown' CHECK (sex IN ('female', 'male', 'other', 'unknown')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, pseudonym),
    UNIQUE (tenant_id, resident_id)
);

-- Identifying details, kept apart so that only care roles of the resident's ward can read them.
CREATE TABLE resident_details (
    resident_id  bigint PRIMARY KEY REFERENCES residents ON DELETE CASCADE,
    display_name text,
    room         text
);

CREATE TABLE stays (
    stay_id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id             text NOT NULL,
    resident_id           bigint NOT NULL,
    ward_id               bigint NOT NULL,
    admitted_at           timestamptz NOT NULL,
    discharged_at         timestamptz,
    -- KPR (municipal patient and user register) service codes for short-term stays.
    stay_type             smallint NOT NULL CHECK (stay_type IN (18, 19, 20)),
    discharge_destination text CHECK (discharge_destination IN
                              ('home', 'long_term_care', 'hospital', 'death', 'other')),
    external_ref          text,
    CHECK (discharged_at IS NULL OR discharged_at > admitted_at),
    CHECK ((discharged_at IS NULL) = (discharge_destination IS NULL)),
    UNIQUE (tenant_id, external_ref),
    UNIQUE (tenant_id, stay_id),
    FOREIGN KEY (tenant_id, resident_id) REFERENCES residents (tenant_id, resident_id),
    FOREIGN KEY (tenant_id, ward_id) REFERENCES wards (tenant_id, ward_id),
    -- A resident is in one stay at a time.
    EXCLUDE USING gist (resident_id WITH =, tstzrange(admitted_at, discharged_at) WITH &&)
);

-- Telemetry belongs to devices; it is attributed to residents through these validity periods,
-- so a corrected assignment re-attributes data without rewriting it.
CREATE TABLE device_assignments (
    assignment_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id     text NOT NULL,
    device_id     text NOT NULL,
    resident_id   bigint NOT NULL,
    valid         tstzrange NOT NULL CHECK (NOT isempty(valid) AND NOT lower_inf(valid)),
    created_at    timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, device_id) REFERENCES devices (tenant_id, device_id),
    FOREIGN KEY (tenant_id, resident_id) REFERENCES residents (tenant_id, resident_id),
    -- No device is assigned to two residents at once.
    EXCLUDE USING gist (device_id WITH =, valid WITH &&)
);
CREATE INDEX device_assignments_resident ON device_assignments (resident_id);

CREATE TABLE consents (
    consent_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    text NOT NULL,
    resident_id  bigint NOT NULL,
    purpose      text NOT NULL CHECK (purpose IN ('care', 'evaluation', 'open_data')),
    valid        tstzrange NOT NULL CHECK (NOT isempty(valid) AND NOT lower_inf(valid)),
    withdrawn_at timestamptz,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    source       text NOT NULL DEFAULT 'manual',
    FOREIGN KEY (tenant_id, resident_id) REFERENCES residents (tenant_id, resident_id),
    EXCLUDE USING gist (resident_id WITH =, purpose WITH =, valid WITH &&)
);

CREATE TABLE users (
    user_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id     text NOT NULL REFERENCES tenants,
    username      text NOT NULL CHECK (username ~ '^[a-z0-9][a-z0-9._@-]{1,127}$'),
    role          text NOT NULL CHECK (role IN ('admin', 'care_staff', 'finance', 'integrator')),
    password_hash text NOT NULL CHECK (password_hash LIKE '$argon2%'),
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (username),
    UNIQUE (tenant_id, user_id)
);

-- Which wards a user may see; care staff see only these.
CREATE TABLE user_ward_scope (
    tenant_id text NOT NULL,
    user_id   bigint NOT NULL,
    ward_id   bigint NOT NULL,
    PRIMARY KEY (user_id, ward_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, ward_id) REFERENCES wards (tenant_id, ward_id)
);

-- Append-only record of who read or changed what; updates and deletes are refused.
CREATE TABLE audit_log (
    audit_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    tenant_id    text,
    actor        text NOT NULL,
    actor_role   text,
    action       text NOT NULL,
    subject_kind text,
    subject_id   text,
    purpose      text,
    detail       jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
