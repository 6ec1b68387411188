-- Consent that is enforced, erasure that is complete, and the few lookups the API makes before
-- it knows the caller's tenant. docs/privacy.md describes each; the rules are here, once.

-- Functions that run with their owner's rights name their search path, with pg_temp last, so
-- that no caller's object can stand in for one of ours.
SELECT set_config('search_path', quote_ident(current_schema()) || ', public, pg_temp', true);

-- ---- consent ---------------------------------------------------------------------------------

-- A tenant's local day as a time range (DST-aware: 23, 24 or 25 hours).
CREATE FUNCTION local_day_range(p_tenant text, p_day date) RETURNS tstzrange
LANGUAGE sql STABLE AS $$
    SELECT tstzrange(p_day::timestamp AT TIME ZONE t.time_zone,
                     (p_day + 1)::timestamp AT TIME ZONE t.time_zone)
    FROM tenants t WHERE t.tenant_id = p_tenant
$$;

-- Whether a consent for ``p_purpose`` that has not been withdrawn is valid at some time during
-- ``p_during``. A withdrawn consent covers nothing, not even the days before the withdrawal:
-- withdrawing care erases the data of those days too.
CREATE FUNCTION consent_in_force(p_resident bigint, p_purpose text, p_during tstzrange)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM consents c
        WHERE c.resident_id = p_resident AND c.purpose = p_purpose
          AND c.withdrawn_at IS NULL AND c.valid && p_during)
$$;

-- THE predicate of resident-level metrics: the analytics runner computes a resident-day only
-- when this is true, and the API's per-day views apply the same test.
CREATE FUNCTION care_consent_covers(p_resident bigint, p_day date) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce((
        SELECT consent_in_force(p_resident, 'care', local_day_range(r.tenant_id, p_day))
        FROM residents r WHERE r.resident_id = p_resident), false)
$$;

-- Per purpose, the consent that speaks for the resident now (in force, else the latest) and its
-- state: given, withdrawn, expired, future, or none.
CREATE FUNCTION consent_status(p_resident bigint)
RETURNS TABLE (purpose text, status text, valid_from timestamptz, valid_to timestamptz,
               withdrawn_at timestamptz, source text)
LANGUAGE sql STABLE AS $$
    SELECT p.purpose,
           CASE WHEN c.consent_id IS NULL THEN 'none'
                WHEN c.withdrawn_at IS NOT NULL THEN 'withdrawn'
                WHEN c.valid @> now() THEN 'given'
                WHEN lower(c.valid) > now() THEN 'future'
                ELSE 'expired' END,
           lower(c.valid), upper(c.valid), c.withdrawn_at, c.source
    FROM unnest(ARRAY['care', 'evaluation', 'open_data']) AS p(purpose)
    LEFT JOIN LATERAL (
        SELECT x.* FROM consents x
        WHERE x.resident_id = p_resident AND x.purpose = p.purpose
        ORDER BY (x.withdrawn_at IS NULL AND x.valid @> now()) DESC,
                 coalesce(x.withdrawn_at, upper(x.valid), 'infinity') DESC, x.recorded_at DESC
        LIMIT 1) c ON true
    ORDER BY p.purpose
$$;

-- A care consent recorded (or corrected) later makes its days computable: mark the days its
-- validity shares with the resident's assignments, as a new assignment does. A withdrawal
-- marks nothing: the erasure that goes with it removes the marks.
CREATE FUNCTION mark_consent_days() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.purpose = 'care' AND NEW.withdrawn_at IS NULL THEN
        INSERT INTO analytics_dirty (resident_id, day)
        SELECT NEW.resident_id, d
        FROM device_assignments a
        CROSS JOIN LATERAL assignment_days(a.tenant_id, a.valid * NEW.valid) AS d
        WHERE a.resident_id = NEW.resident_id AND a.valid && NEW.valid
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER consents_mark_days AFTER INSERT OR UPDATE OF valid ON consents
    FOR EACH ROW EXECUTE FUNCTION mark_consent_days();

-- ---- erasure ---------------------------------------------------------------------------------

-- Delete the care data of one resident that the data catalogue marks for erasure, for the
-- assignments that began before ``p_before``: rows keyed by the resident or their stays, rows
-- of their devices within the assignment ranges, and robot events naming their pseudonym
-- (a shared robot's event with others keeps the others). Returns the count per table.
-- Owner's rights: the API may erase but not delete raw or derived rows itself.
CREATE FUNCTION erase_care_rows(p_resident bigint, p_before timestamptz) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    entry     data_catalogue%ROWTYPE;
    target    regclass;
    pseudonym text;
    tenant    text;
    n         bigint;
    counts    jsonb := '{}';
BEGIN
    SELECT r.pseudonym, r.tenant_id INTO pseudonym, tenant
    FROM residents r WHERE r.resident_id = p_resident;
    FOR entry IN SELECT * FROM data_catalogue WHERE erase IN ('resident', 'stay', 'device_time')
                 ORDER BY table_name LOOP
        target := to_regclass(format('%I.%I', current_schema(), entry.table_name));
        CONTINUE WHEN target IS NULL;
        IF entry.erase = 'resident' THEN
            EXECUTE format('DELETE FROM %s WHERE resident_id = $1', target) USING p_resident;
        ELSIF entry.erase = 'stay' THEN
            EXECUTE format('DELETE FROM %s WHERE stay_id IN '
                           '(SELECT s.stay_id FROM stays s WHERE s.resident_id = $1)', target)
                USING p_resident;
        ELSE
            EXECUTE format('DELETE FROM %s x USING device_assignments a '
                           'WHERE a.resident_id = $1 AND lower(a.valid) < $2 '
                           'AND x.device_id = a.device_id AND a.valid @> x.%I',
                           target, entry.erase_time)
                USING p_resident, p_before;
        END IF;
        GET DIAGNOSTICS n = ROW_COUNT;
        counts := counts || jsonb_build_object(entry.table_name, n);
    END LOOP;
    -- Robots are shared: an event is the resident's through the pseudonym it names.
    DELETE FROM robot_events e
    WHERE e.tenant_id = tenant AND e.time < p_before
      AND (e.body->>'participant' = pseudonym
           OR e.body->'participants' = jsonb_build_array(pseudonym));
    GET DIAGNOSTICS n = ROW_COUNT;
    counts := jsonb_set(counts, '{robot_events}',
                        to_jsonb(coalesce((counts->>'robot_events')::bigint, 0) + n));
    UPDATE robot_events e
    SET body = jsonb_set(e.body, '{participants}',
                         coalesce((SELECT jsonb_agg(p) FROM jsonb_array_elements(e.body->'participants') p
                                   WHERE p <> to_jsonb(pseudonym)), '[]'::jsonb))
    WHERE e.tenant_id = tenant AND e.time < p_before AND e.body->'participants' ? pseudonym;
    GET DIAGNOSTICS n = ROW_COUNT;
    counts := counts || jsonb_build_object('robot_events_redacted', n);
    -- Rejected messages keep a payload prefix, which may name the resident.
    DELETE FROM ingest_rejects j
    WHERE j.received_at < p_before
      AND position(convert_to(pseudonym, 'UTF8') IN j.payload) > 0
      AND (j.device_id IS NULL OR j.device_id IN (SELECT d.device_id FROM devices d
                                                  WHERE d.tenant_id = tenant));
    GET DIAGNOSTICS n = ROW_COUNT;
    counts := jsonb_set(counts, '{ingest_rejects}',
                        to_jsonb(coalesce((counts->>'ingest_rejects')::bigint, 0) + n));
    RETURN counts;
END $$;

-- Erase a resident's care data after the care consent was withdrawn: open assignments end now
-- (future ones are removed), then erase_care_rows. The caller's tenant (stayactive.tenant_id)
-- must be the resident's: the API calls this, and a forgotten check must not cross tenants.
CREATE FUNCTION erase_care_data(p_resident bigint) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    ended   bigint;
    removed bigint;
    counts  jsonb;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM residents r WHERE r.resident_id = p_resident
                   AND r.tenant_id = current_setting('stayactive.tenant_id', true)) THEN
        RAISE EXCEPTION 'resident % is not a resident of tenant %', p_resident,
            coalesce(current_setting('stayactive.tenant_id', true), '(none)')
            USING ERRCODE = 'no_data_found';
    END IF;
    DELETE FROM device_assignments WHERE resident_id = p_resident AND lower(valid) >= now();
    GET DIAGNOSTICS removed = ROW_COUNT;
    UPDATE device_assignments SET valid = tstzrange(lower(valid), now())
    WHERE resident_id = p_resident AND valid @> now();
    GET DIAGNOSTICS ended = ROW_COUNT;
    -- The assignment trigger has just marked the resident's days for the runner; erasing
    -- analytics_dirty below takes those marks away again.
    counts := erase_care_rows(p_resident, 'infinity');
    RETURN counts || jsonb_build_object('device_assignments_ended', ended,
                                        'device_assignments_removed', removed);
END $$;

-- Late data: a device may replay what it buffered before a withdrawal. `stayactive db maintain`
-- erases it again, for every withdrawn care consent, up to the withdrawal.
CREATE FUNCTION erase_late_care_data() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    w       record;
    total   bigint := 0;
    counts  jsonb;
    k       text;
BEGIN
    FOR w IN SELECT c.resident_id, max(c.withdrawn_at) AS withdrawn_at FROM consents c
             WHERE c.purpose = 'care' AND c.withdrawn_at IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM consents g WHERE g.resident_id = c.resident_id
                               AND g.purpose = 'care' AND g.withdrawn_at IS NULL)
             GROUP BY c.resident_id LOOP
        counts := erase_care_rows(w.resident_id, w.withdrawn_at);
        FOR k IN SELECT jsonb_object_keys(counts) LOOP
            total := total + (counts->>k)::bigint;
        END LOOP;
    END LOOP;
    RETURN total;
END $$;

-- ---- lookups before the tenant is known ------------------------------------------------------
-- The API names the caller's tenant for row-level security once it knows the caller; these
-- three answer the questions that come before, and nothing more.

CREATE FUNCTION auth_login_account(p_username text)
RETURNS TABLE (user_id bigint, tenant_id text, password_hash text, active boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
    SELECT u.user_id, u.tenant_id, u.password_hash, u.active FROM users u
    WHERE u.username = p_username
$$;

CREATE FUNCTION auth_api_key(p_key_id text)
RETURNS TABLE (secret_sha256 bytea, tenant_id text, time_zone text, role text, name text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
    SELECT k.secret_sha256, k.tenant_id, t.time_zone, k.role, k.name
    FROM api_keys k JOIN tenants t ON t.tenant_id = k.tenant_id
    WHERE k.key_id = p_key_id AND k.revoked_at IS NULL
$$;

CREATE FUNCTION auth_device_secret(p_device_id text)
RETURNS TABLE (tenant_id text, secret_sha256 bytea)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
    SELECT d.tenant_id, c.secret_sha256 FROM devices d
    JOIN device_http_credentials c ON c.device_id = d.device_id
    WHERE d.device_id = p_device_id AND d.active
$$;

-- Device ids and (kind, serial) are unique across tenants; a new device must be checked against
-- every tenant's, which the API's role cannot see. Says 'id', 'serial' or NULL, nothing more.
CREATE FUNCTION device_taken(p_device_id text, p_kind text, p_serial text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
    SELECT CASE
        WHEN EXISTS (SELECT 1 FROM devices d WHERE d.device_id = p_device_id) THEN 'id'
        WHEN EXISTS (SELECT 1 FROM devices d WHERE d.kind = p_kind AND d.serial = p_serial)
            THEN 'serial'
    END
$$;

-- The API's own background work (alerts) goes tenant by tenant, each scoped like a request:
-- it needs the list of tenants, which its role, naming none, cannot see.
CREATE FUNCTION service_tenants() RETURNS TABLE (tenant_id text, time_zone text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
    SELECT t.tenant_id, t.time_zone FROM tenants t ORDER BY t.tenant_id
$$;

-- Owner's-rights functions are for the API only; apply_data_catalogue for migrations only.
REVOKE ALL ON FUNCTION erase_care_rows(bigint, timestamptz), erase_care_data(bigint),
    erase_late_care_data(), auth_login_account(text), auth_api_key(text),
    auth_device_secret(text), device_taken(text, text, text), service_tenants(),
    apply_data_catalogue() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION erase_care_data(bigint), auth_login_account(text), auth_api_key(text),
    auth_device_secret(text), device_taken(text, text, text), service_tenants()
    TO stayactive_api;

-- Accounts unused for 90 days are disabled (`stayactive users expire`): the last login is kept
-- on the account, since sessions are pruned.
ALTER TABLE users ADD COLUMN last_login_at timestamptz;
ALTER TABLE users ADD COLUMN disabled_reason text;
UPDATE users u SET last_login_at = (SELECT max(s.created_at) FROM api_sessions s
                                    WHERE s.user_id = u.user_id);
