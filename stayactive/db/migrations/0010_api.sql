-- The API service: sessions behind the short-lived tokens, API keys of integrators, login
-- throttling, device credentials for the HTTP telemetry fallback, and persistent care alerts.
-- docs/api.md explains how each is used.

-- One row per login. A token names its session (the JWT's `sid`); every request checks that the
-- session is neither revoked nor expired and that its user is still active, so a logout or a
-- disabled account takes effect at once, however long the token itself would still be valid.
CREATE TABLE api_sessions (
    session_id   uuid        PRIMARY KEY,
    tenant_id    text        NOT NULL,
    user_id      bigint      NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    revoked_why  text,
    CHECK (expires_at > created_at),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE
);
CREATE INDEX api_sessions_user ON api_sessions (user_id) WHERE revoked_at IS NULL;

-- Failed logins per account name (also for names that do not exist, so that the answer does not
-- tell which accounts exist). Reset by a successful login.
CREATE TABLE login_throttle (
    username        text        PRIMARY KEY,
    failures        integer     NOT NULL DEFAULT 0 CHECK (failures >= 0),
    first_failed_at timestamptz,
    last_failed_at  timestamptz,
    locked_until    timestamptz
);

-- Keys for integrators (care-record system, scripts): `sa_<key_id>_<secret>`. The secret is 32
-- random bytes, so a SHA-256 of it is as safe as a slow hash and cheap to check per request.
CREATE TABLE api_keys (
    key_id        text        PRIMARY KEY CHECK (key_id ~ '^[a-f0-9]{12}$'),
    tenant_id     text        NOT NULL REFERENCES tenants,
    name          text        NOT NULL CHECK (name <> '' AND length(name) <= 100),
    role          text        NOT NULL DEFAULT 'integrator' CHECK (role IN ('integrator')),
    secret_sha256 bytea       NOT NULL CHECK (length(secret_sha256) = 32),
    created_at    timestamptz NOT NULL DEFAULT now(),
    created_by    text        NOT NULL,
    last_used_at  timestamptz,
    revoked_at    timestamptz,
    UNIQUE (tenant_id, name)
);

-- What the API checks a device's HTTP telemetry against: the hash of the same password the broker
-- holds (random, 18 bytes), written whenever the broker account is created or rotated.
CREATE TABLE device_http_credentials (
    device_id     text        PRIMARY KEY REFERENCES devices ON DELETE CASCADE,
    secret_sha256 bytea       NOT NULL CHECK (length(secret_sha256) = 32),
    rotated_at    timestamptz NOT NULL DEFAULT now()
);

-- Per-ward alert settings; a ward without a row uses the defaults.
CREATE TABLE ward_alert_settings (
    ward_id            bigint  PRIMARY KEY REFERENCES wards ON DELETE CASCADE,
    tenant_id          text    NOT NULL,
    -- "Not up" is raised when a resident has taken no step by this local time.
    not_up_by          time    NOT NULL DEFAULT '11:00',
    battery_low_pct    real    NOT NULL DEFAULT 20 CHECK (battery_low_pct BETWEEN 0 AND 100),
    offline_after_min  integer NOT NULL DEFAULT 60 CHECK (offline_after_min BETWEEN 5 AND 1440),
    FOREIGN KEY (tenant_id, ward_id) REFERENCES wards (tenant_id, ward_id)
);

-- Care alerts as rows, so that one can be marked handled (who, when, note) and its history
-- kept. An alert is open from `since` until its condition clears (`resolved_at`); at most one
-- open alert per resident, kind and device. A condition that comes back opens a new row.
CREATE TABLE alerts (
    alert_id     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    text        NOT NULL,
    ward_id      bigint      NOT NULL,
    resident_id  bigint      NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('not_up_by_hour', 'declining_3_days',
                                 'device_offline', 'battery_low', 'no_data')),
    device_id    text        NOT NULL DEFAULT '',
    since        timestamptz NOT NULL,
    opened_at    timestamptz NOT NULL DEFAULT now(),
    detail       jsonb       NOT NULL DEFAULT '{}',
    resolved_at  timestamptz,
    handled_at   timestamptz,
    handled_by   text,
    handled_note text,
    CHECK ((handled_at IS NULL) = (handled_by IS NULL)),
    FOREIGN KEY (tenant_id, ward_id) REFERENCES wards (tenant_id, ward_id),
    FOREIGN KEY (tenant_id, resident_id) REFERENCES residents (tenant_id, resident_id)
        ON DELETE CASCADE
);
CREATE UNIQUE INDEX alerts_open ON alerts (resident_id, kind, device_id) WHERE resolved_at IS NULL;
CREATE INDEX alerts_ward ON alerts (ward_id, since);

-- The audit log says which endpoint read or changed what; looked up by resident and by user.
ALTER TABLE audit_log ADD COLUMN endpoint text;
CREATE INDEX audit_log_subject ON audit_log (tenant_id, subject_kind, subject_id, at);
CREATE INDEX audit_log_actor ON audit_log (tenant_id, actor, at);

-- Reads of the API: a ward's current stays and a resident's days.
CREATE INDEX stays_ward ON stays (ward_id, admitted_at);
CREATE INDEX device_assignments_device ON device_assignments (device_id);
