-- Least privilege in the database: one role per service, grants decided per table in one
-- catalogue, and row-level security for the API keyed by a per-transaction tenant setting.
-- docs/privacy.md explains the roles; this file is the one place that decides their grants.
--
-- Roles are cluster-wide, schemas are not: the roles are created once (whichever migration
-- comes first, in whichever database), the grants and policies are made per schema. Two
-- migrations may run at once (tests migrate a schema each), so creating a role that another
-- session has just created is not an error.
--
--   stayactive_ingest     inserts raw rows and rejects, reads the device registry (bypasses
--                         row-level security: COPY needs it; its table grants still hold)
--   stayactive_analytics  reads raw data and the registry, writes derived tables
--   stayactive_api        what the API's routers need; only INSERT and SELECT on the audit log
--   stayactive_reporting  reads aggregates' inputs, writes nothing
--
-- The API's role never bypasses row-level security; the migrating role (the owner) does.

DO $$
DECLARE
    name text;
BEGIN
    FOREACH name IN ARRAY ARRAY['stayactive_ingest', 'stayactive_analytics', 'stayactive_api',
                                'stayactive_reporting'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = name) THEN
            BEGIN
                -- NOLOGIN until an operator (or `stayactive services up`) gives it a password.
                EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE %s',
                               name, CASE name WHEN 'stayactive_ingest' THEN 'BYPASSRLS'
                                               ELSE 'NOBYPASSRLS' END);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- created by a migration running at the same time
            END;
        END IF;
    END LOOP;
    -- Ingest writes every tenant's rows with COPY, which PostgreSQL refuses on a table with
    -- row-level security unless the role bypasses it; its privileges are its table grants.
    IF NOT (SELECT rolbypassrls FROM pg_roles WHERE rolname = 'stayactive_ingest') THEN
        BEGIN
            ALTER ROLE stayactive_ingest BYPASSRLS;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE WARNING 'stayactive_ingest needs BYPASSRLS (ask a superuser): ingest cannot '
                          'COPY into tables with row-level security without it';
        END;
    END IF;
END $$;

-- Which role may do what with each table, whether the API sees it through a tenant policy,
-- what erasing a resident's care data does with it, and how long its rows are kept.
-- Privileges are PostgreSQL's ACL letters: r SELECT, a INSERT, w UPDATE, d DELETE.
-- A migration that adds a table adds its row here and calls apply_data_catalogue().
CREATE TABLE data_catalogue (
    table_name  text PRIMARY KEY CHECK (table_name ~ '^[a-z_][a-z0-9_]*$'),
    category    text NOT NULL CHECK (category IN ('registry', 'raw', 'derived', 'savings',
                                                  'accounts', 'audit', 'operations')),
    ingest      text NOT NULL DEFAULT '' CHECK (ingest ~ '^r?a?w?d?$'),
    analytics   text NOT NULL DEFAULT '' CHECK (analytics ~ '^r?a?w?d?$'),
    api         text NOT NULL DEFAULT '' CHECK (api ~ '^r?a?w?d?$'),
    reporting   text NOT NULL DEFAULT '' CHECK (reporting ~ '^r?$'),
    -- How a row names its tenant, for the API's row-level security: its own tenant_id, or the
    -- resident/device it belongs to. NULL: the table is not tenant-scoped (no policy).
    tenant_key  text CHECK (tenant_key IN ('tenant_id', 'resident_id', 'device_id')),
    -- What erase_care_data() does: 'resident' deletes rows with the resident's id, 'stay' rows
    -- of the resident's stays, 'device_time' rows of an assigned device whose erase_time lies in
    -- an assignment of the resident; 'keep' keeps them (the registry, the audit trail).
    erase       text NOT NULL CHECK (erase IN ('keep', 'resident', 'stay', 'device_time', 'none')),
    erase_time  text CHECK ((erase = 'device_time') = (erase_time IS NOT NULL)),
    retention   text NOT NULL CHECK (retention <> ''),
    CHECK (api NOT LIKE '%w%' OR api LIKE '%r%')  -- an UPDATE with WHERE reads the row
);

INSERT INTO data_catalogue
    (table_name, category, ingest, analytics, api, reporting, tenant_key, erase, erase_time,
     retention) VALUES
-- the registry
('tenants',                'registry',   '',    'r',  'raw',  'r', 'tenant_id',   'keep', NULL,
 'as long as the municipality uses the service'),
('sites',                  'registry',   '',    'r',  'raw',  'r', 'tenant_id',   'keep', NULL,
 'as long as the municipality uses the service'),
('wards',                  'registry',   '',    'r',  'raw',  'r', 'tenant_id',   'keep', NULL,
 'as long as the municipality uses the service'),
('devices',                'registry',   'r',   'r',  'raw',  'r', 'tenant_id',   'keep', NULL,
 'as long as the device is in use; deactivated devices are kept for the assignment history'),
('residents',              'registry',   '',    'r',  'raw',  'r', 'tenant_id',   'keep', NULL,
 'the pseudonym, birth year and sex; until the municipality removes them (no automatic deletion)'),
('resident_details',       'registry',   '',    '',   'rawd', '',  'resident_id', 'resident',
 NULL, 'while the resident is in a stay; erased with care data'),
('stays',                  'registry',   '',    'r',  'rawd', 'r', 'tenant_id',   'keep', NULL,
 'the care record''s facts; until the municipality removes them (no automatic deletion)'),
('device_assignments',     'registry',   '',    'r',  'rawd', 'r', 'tenant_id',   'keep', NULL,
 'the evaluation period (which stay had a device); open ones end at a care withdrawal'),
('consents',               'registry',   '',    'r',  'raw',  'r', 'tenant_id',   'keep', NULL,
 'as long as the resident is registered: the proof of consent and of withdrawal'),
-- raw device data (TimescaleDB hypertables). Ingest stages rows in temporary tables made LIKE
-- these, which needs SELECT on them; its INSERT … ON CONFLICT into message_keys and
-- ingest_rejects (0008's idempotency and dedupe keys) needs SELECT on the conflict columns. The API only reads raw data: HTTP telemetry is stored
-- through the ingest role.
('walker_frames',          'raw',        'ra',  'r',  'r',    '',  'tenant_id',   'device_time',
 'time', 'raw_retention_days (default 400 days), then dropped by `stayactive db maintain`'),
('robot_events',           'raw',        'ra',  'r',  'r',    '',  'tenant_id',   'device_time',
 'time', 'raw_retention_days (default 400 days)'),
('device_status',          'raw',        'ra',  'r',  'r',    '',  'tenant_id',   'device_time',
 'time', 'raw_retention_days (default 400 days)'),
('device_latest_status',   'raw',        'raw', 'r',  'r',    '',  'tenant_id',   'device_time',
 'last_seen_at', 'one row per device, overwritten by every message'),
('message_keys',           'raw',        'ra',  '',   '',     '',  'device_id',   'device_time',
 'stored_at', 'raw_retention_days'),
('ingest_rejects',         'raw',        'ra',  '',   'r',  '',  'device_id',   'device_time',
 'received_at', 'raw_retention_days, deleted by `stayactive db maintain`'),
('ingest_reject_overflow', 'raw',        'raw', '',   '',   '',  'device_id',   'device_time',
 'last_received_at', 'as ingest_rejects'),
-- derived by the analytics runner
('resident_days',          'derived',    '',    'rawd', 'r',  'r', 'tenant_id',   'resident',
 NULL, 'kept after raw retention (the daily figures outlive the samples); erased with care data'),
('stay_trajectories',      'derived',    '',    'rawd', 'r',  'r', 'tenant_id',   'stay',
 NULL, 'as resident_days'),
('analytics_dirty',        'derived',    '',    'rawd', 'a',  '',  'resident_id', 'resident',
 NULL, 'until the runner has computed the day'),
('analytics_watermark',    'operations', '',    'raw',  '',   '',  NULL,          'none', NULL,
 'two rows, overwritten'),
-- the savings evaluation
('savings_parameter_sets', 'savings',    '',    '',   'ra',   'r', 'tenant_id',   'none', NULL,
 'append-only: every version is kept, so every figure names its parameters'),
('savings_parameters',     'savings',    '',    '',   'ra',   'r', 'tenant_id',   'none', NULL,
 'append-only, as savings_parameter_sets'),
('savings_designs',        'savings',    '',    '',   'ra',   'r', 'tenant_id',   'none', NULL,
 'append-only'),
('stay_admission_mobility', 'savings',   '',    'r',  'rawd', 'r', 'tenant_id',   'keep', NULL,
 'as stays (a care-record fact)'),
('hospital_admissions',    'savings',    '',    'r',  'rawd', 'r', 'tenant_id',   'keep', NULL,
 'as stays (a care-record fact)'),
-- accounts of the API
('users',                  'accounts',   '',    '',   'raw',  '',  'tenant_id',   'none', NULL,
 'while the account is needed; unused accounts are disabled after 90 days'),
('user_ward_scope',        'accounts',   '',    '',   'rad',  '',  'tenant_id',   'none', NULL,
 'as users'),
('api_sessions',           'accounts',   '',    '',   'raw',  '',  'tenant_id',   'none', NULL,
 'a session ends after api_session_ttl_s; `db maintain` deletes it 90 days after it ended'),
('login_throttle',         'accounts',   '',    '',   'raw',  '',  NULL,          'none', NULL,
 'one row per account name, reset by a successful login'),
('api_keys',               'accounts',   '',    '',   'raw',  '',  'tenant_id',   'none', NULL,
 'until revoked; unused keys are revoked after 90 days'),
('device_http_credentials', 'accounts',  '',    '',   'rawd', '',  'device_id',   'none', NULL,
 'until the device is deactivated'),
('ward_alert_settings',    'operations', '',    '',   'raw',  '',  'tenant_id',   'none', NULL,
 'as wards'),
('alerts',                 'derived',    '',    '',   'raw',  '',  'tenant_id',   'resident',
 NULL, 'as resident_days; erased with care data'),
-- the audit trail
('audit_log',              'audit',      '',    '',   'ra',   '',  'tenant_id',   'keep', NULL,
 'append-only; no automatic deletion (the municipality sets the period with its records)'),
('data_catalogue',         'operations', 'r',   'r',  'r',    'r', NULL,          'none', NULL,
 'this table');

-- Grants, policies and row-level security from the catalogue, for this schema. Idempotent: it
-- revokes what a role has and grants what the catalogue says, so running it again after a
-- change of the catalogue brings the schema in line. Tables the catalogue names but the schema
-- lacks (a branch's migration not merged yet) are skipped.
CREATE FUNCTION apply_data_catalogue() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    entry   data_catalogue%ROWTYPE;
    entries data_catalogue[];
    roles   constant text[] := ARRAY['ingest', 'analytics', 'api', 'reporting'];
    role_name text;
    letters text;
    privs   text[];
    tenant_expr text;
    target  regclass;
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO stayactive_ingest, stayactive_analytics, '
                   'stayactive_api, stayactive_reporting', current_schema());
    EXECUTE format('REVOKE ALL ON schema_migrations FROM stayactive_ingest, '
                   'stayactive_analytics, stayactive_api, stayactive_reporting');
    -- Read first: a table cannot be altered while a loop still reads it (the catalogue itself).
    SELECT array_agg(d ORDER BY d.table_name) INTO entries FROM data_catalogue d;
    FOREACH entry IN ARRAY entries LOOP
        target := to_regclass(format('%I.%I', current_schema(), entry.table_name));
        CONTINUE WHEN target IS NULL;
        FOREACH role_name IN ARRAY roles LOOP
            EXECUTE format('REVOKE ALL ON %s FROM %I', target, 'stayactive_' || role_name);
            letters := CASE role_name WHEN 'ingest' THEN entry.ingest
                                      WHEN 'analytics' THEN entry.analytics
                                      WHEN 'api' THEN entry.api
                                      ELSE entry.reporting END;
            privs := ARRAY[]::text[];
            IF letters LIKE '%r%' THEN privs := privs || 'SELECT'::text; END IF;
            IF letters LIKE '%a%' THEN privs := privs || 'INSERT'::text; END IF;
            IF letters LIKE '%w%' THEN privs := privs || 'UPDATE'::text; END IF;
            IF letters LIKE '%d%' THEN privs := privs || 'DELETE'::text; END IF;
            IF cardinality(privs) > 0 THEN
                EXECUTE format('GRANT %s ON %s TO %I', array_to_string(privs, ', '), target,
                               'stayactive_' || role_name);
            END IF;
        END LOOP;
        -- Row-level security for the API's role on tenant-scoped tables: the policy shows it
        -- the rows of the tenant its transaction names, and no row when none is named. The
        -- other roles (analytics and reporting read every tenant; ingest bypasses row-level
        -- security, as PostgreSQL refuses COPY into a table with it) get a policy that
        -- passes every row: without one, row-level security would hide every row from them.
        EXECUTE format('DROP POLICY IF EXISTS services_all_rows ON %s', target);
        EXECUTE format('DROP POLICY IF EXISTS api_tenant ON %s', target);
        IF entry.tenant_key IS NULL THEN
            EXECUTE format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY', target);
            CONTINUE;
        END IF;
        EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', target);
        EXECUTE format('CREATE POLICY services_all_rows ON %s TO stayactive_analytics, '
                       'stayactive_reporting USING (true) WITH CHECK (true)', target);
        tenant_expr := CASE entry.tenant_key
            WHEN 'tenant_id' THEN
                'tenant_id = current_setting(''stayactive.tenant_id'', true)'
            WHEN 'resident_id' THEN
                'resident_id IN (SELECT r.resident_id FROM residents r WHERE r.tenant_id = '
                'current_setting(''stayactive.tenant_id'', true))'
            ELSE
                'device_id IN (SELECT d.device_id FROM devices d WHERE d.tenant_id = '
                'current_setting(''stayactive.tenant_id'', true))' END;
        EXECUTE format('CREATE POLICY api_tenant ON %s TO stayactive_api USING (%s) '
                       'WITH CHECK (%s)', target, tenant_expr, tenant_expr);
    END LOOP;
END $$;

SELECT apply_data_catalogue();
