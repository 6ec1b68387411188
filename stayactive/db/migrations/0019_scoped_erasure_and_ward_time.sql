-- Two rules of the privacy review (docs/privacy.md, docs/api.md):
-- 1. Withdrawing one care consent (a care-record import marks the consent of one stay
--    withdrawn) erases that consent's time, exactly as a full withdrawal erases everything:
--    erase_care_data_during is the one erasure, and erase_care_data (a full withdrawal) and
--    erase_late_care_data (`db maintain`) are calls of it.
-- 2. Care staff see a resident's data only for the time of the resident's stays on their
--    wards: care_scope_covers / care_scope_overlaps, applied by every resident-level route.

SELECT set_config('search_path', quote_ident(current_schema()) || ', public, pg_temp', true);

-- ---- erasure of a time range -----------------------------------------------------------------

-- The column that dates a row erased by resident (a date is a local day of the tenant), so
-- that a withdrawal of one consent erases only the rows of its time. Undated rows
-- (resident_details) go only when no care consent is left in force.
ALTER TABLE data_catalogue ADD COLUMN erase_when text
    CHECK (erase_when IS NULL OR erase = 'resident');
UPDATE data_catalogue SET erase_when = 'day' WHERE table_name IN ('resident_days', 'analytics_dirty');
UPDATE data_catalogue SET erase_when = 'since' WHERE table_name = 'alerts';

-- Delete the resident's care data that lies in ``p_during`` and that no care consent in force
-- still covers (a consent recorded again keeps its own days): rows of the resident dated in
-- that time, trajectories of their stays that overlap it, rows of their devices in their
-- assignments within it, robot events naming them and rejects quoting them. Counts per table.
CREATE FUNCTION erase_care_rows_during(p_resident bigint, p_during tstzmultirange)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    entry     data_catalogue%ROWTYPE;
    target    regclass;
    pseudonym text;
    tenant    text;
    kind      text;
    n         bigint;
    uncovered tstzmultirange;
    counts    jsonb := '{}';
BEGIN
    SELECT r.pseudonym, r.tenant_id INTO pseudonym, tenant
    FROM residents r WHERE r.resident_id = p_resident;
    SELECT p_during - coalesce(range_agg(c.valid), '{}'::tstzmultirange) INTO uncovered
    FROM consents c
    WHERE c.resident_id = p_resident AND c.purpose = 'care' AND c.withdrawn_at IS NULL;
    FOR entry IN SELECT * FROM data_catalogue WHERE erase IN ('resident', 'stay', 'device_time')
                 ORDER BY table_name LOOP
        target := to_regclass(format('%I.%I', current_schema(), entry.table_name));
        CONTINUE WHEN target IS NULL;
        n := 0;
        IF entry.erase = 'resident' AND entry.erase_when IS NULL THEN
            IF NOT consent_in_force(p_resident, 'care', '(,)') THEN
                EXECUTE format('DELETE FROM %s WHERE resident_id = $1', target) USING p_resident;
                GET DIAGNOSTICS n = ROW_COUNT;
            END IF;
        ELSIF entry.erase = 'resident' THEN
            SELECT format_type(a.atttypid, a.atttypmod) INTO kind FROM pg_attribute a
            WHERE a.attrelid = target AND a.attname = entry.erase_when;
            IF kind = 'date' THEN
                EXECUTE format('DELETE FROM %s x WHERE x.resident_id = $1 '
                               'AND local_day_range($3, x.%I) && $2 '
                               'AND NOT care_consent_covers($1, x.%I)',
                               target, entry.erase_when, entry.erase_when)
                    USING p_resident, uncovered, tenant;
            ELSE
                EXECUTE format('DELETE FROM %s x WHERE x.resident_id = $1 AND x.%I <@ $2',
                               target, entry.erase_when)
                    USING p_resident, uncovered;
            END IF;
            GET DIAGNOSTICS n = ROW_COUNT;
        ELSIF entry.erase = 'stay' THEN
            EXECUTE format('DELETE FROM %s WHERE stay_id IN '
                           '(SELECT s.stay_id FROM stays s WHERE s.resident_id = $1 '
                           'AND tstzrange(s.admitted_at, s.discharged_at) && $2)', target)
                USING p_resident, uncovered;
            GET DIAGNOSTICS n = ROW_COUNT;
        ELSE
            EXECUTE format('DELETE FROM %s x USING device_assignments a '
                           'WHERE a.resident_id = $1 AND x.device_id = a.device_id '
                           'AND a.valid @> x.%I AND x.%I <@ $2',
                           target, entry.erase_time, entry.erase_time)
                USING p_resident, uncovered;
            GET DIAGNOSTICS n = ROW_COUNT;
        END IF;
        counts := counts || jsonb_build_object(entry.table_name, n);
    END LOOP;
    -- Robots are shared: an event is the resident's through the pseudonym it names.
    DELETE FROM robot_events e
    WHERE e.tenant_id = tenant AND e.time <@ uncovered
      AND (e.body->>'participant' = pseudonym
           OR e.body->'participants' = jsonb_build_array(pseudonym));
    GET DIAGNOSTICS n = ROW_COUNT;
    counts := jsonb_set(counts, '{robot_events}',
                        to_jsonb(coalesce((counts->>'robot_events')::bigint, 0) + n));
    UPDATE robot_events e
    SET body = jsonb_set(e.body, '{participants}',
                         coalesce((SELECT jsonb_agg(p) FROM jsonb_array_elements(e.body->'participants') p
                                   WHERE p <> to_jsonb(pseudonym)), '[]'::jsonb))
    WHERE e.tenant_id = tenant AND e.time <@ uncovered AND e.body->'participants' ? pseudonym;
    GET DIAGNOSTICS n = ROW_COUNT;
    counts := counts || jsonb_build_object('robot_events_redacted', n);
    -- Rejected messages keep a payload prefix, which may name the resident.
    DELETE FROM ingest_rejects j
    WHERE j.received_at <@ uncovered
      AND position(convert_to(pseudonym, 'UTF8') IN j.payload) > 0
      AND (j.device_id IS NULL OR j.device_id IN (SELECT d.device_id FROM devices d
                                                  WHERE d.tenant_id = tenant));
    GET DIAGNOSTICS n = ROW_COUNT;
    counts := jsonb_set(counts, '{ingest_rejects}',
                        to_jsonb(coalesce((counts->>'ingest_rejects')::bigint, 0) + n));
    RETURN counts;
END $$;

-- THE erasure of a care withdrawal, for the time ``p_during`` (all time for a full
-- withdrawal, the withdrawn consent's validity for one stay's): the resident's assignments
-- in that time end now (future ones are removed), then erase_care_rows_during. The caller's
-- tenant (stayactive.tenant_id) must be the resident's.
CREATE FUNCTION erase_care_data_during(p_resident bigint, p_during tstzmultirange)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    ended     bigint;
    removed   bigint;
    uncovered tstzmultirange;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM residents r WHERE r.resident_id = p_resident
                   AND r.tenant_id = current_setting('stayactive.tenant_id', true)) THEN
        RAISE EXCEPTION 'resident % is not a resident of tenant %', p_resident,
            coalesce(current_setting('stayactive.tenant_id', true), '(none)')
            USING ERRCODE = 'no_data_found';
    END IF;
    SELECT p_during - coalesce(range_agg(c.valid), '{}'::tstzmultirange) INTO uncovered
    FROM consents c
    WHERE c.resident_id = p_resident AND c.purpose = 'care' AND c.withdrawn_at IS NULL;
    DELETE FROM device_assignments
    WHERE resident_id = p_resident AND lower(valid) >= now() AND lower(valid) <@ uncovered;
    GET DIAGNOSTICS removed = ROW_COUNT;
    UPDATE device_assignments SET valid = tstzrange(lower(valid), now())
    WHERE resident_id = p_resident AND valid @> now() AND now() <@ uncovered;
    GET DIAGNOSTICS ended = ROW_COUNT;
    -- The assignment trigger has just marked days for the runner; the erasure below takes the
    -- marks of the erased time away again.
    RETURN erase_care_rows_during(p_resident, p_during)
        || jsonb_build_object('device_assignments_ended', ended,
                              'device_assignments_removed', removed);
END $$;

-- A full withdrawal (every care consent withdrawn): all time.
CREATE OR REPLACE FUNCTION erase_care_data(p_resident bigint) RETURNS jsonb
LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT AS $$
    SELECT erase_care_data_during(p_resident, '{(,)}'::tstzmultirange)
$$;

-- Nothing calls the old erasure of the rows before a time any more.
DROP FUNCTION erase_care_rows(bigint, timestamptz);

-- Late data: a device may replay what it buffered before a withdrawal. `stayactive db maintain`
-- erases it again for every withdrawn care consent, up to the withdrawal: all earlier time if
-- the resident has no care consent left in force, else the withdrawn consent's own time (what a
-- consent in force covers is kept by erase_care_rows_during).
CREATE OR REPLACE FUNCTION erase_late_care_data() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    w       record;
    total   bigint := 0;
    counts  jsonb;
    k       text;
BEGIN
    FOR w IN SELECT c.resident_id,
                    range_agg(CASE WHEN consent_in_force(c.resident_id, 'care', '(,)')
                                   THEN c.valid * tstzrange(NULL, c.withdrawn_at)
                                   ELSE tstzrange(NULL, c.withdrawn_at) END) AS during
             FROM consents c
             WHERE c.purpose = 'care' AND c.withdrawn_at IS NOT NULL
             GROUP BY c.resident_id LOOP
        counts := erase_care_rows_during(w.resident_id, w.during);
        FOR k IN SELECT jsonb_object_keys(counts) LOOP
            total := total + (counts->>k)::bigint;
        END LOOP;
    END LOOP;
    RETURN total;
END $$;

-- ---- the ward scope of care staff in time ----------------------------------------------------

-- Whether a stay of the resident on one of ``p_wards`` overlaps ``p_during``. NULL wards: the
-- caller is not ward-scoped (admins), everything is in scope.
CREATE FUNCTION care_scope_overlaps(p_resident bigint, p_wards bigint[], p_during tstzrange)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT p_wards IS NULL OR EXISTS (
        SELECT 1 FROM stays s
        WHERE s.resident_id = p_resident AND s.ward_id = ANY(p_wards)
          AND tstzrange(s.admitted_at, s.discharged_at) && p_during)
$$;

-- THE day test of the ward scope: care staff see a resident's local day only if one of the
-- resident's stays on their wards overlaps it (admission day to discharge day).
CREATE FUNCTION care_scope_covers(p_resident bigint, p_wards bigint[], p_day date)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT p_wards IS NULL OR coalesce((
        SELECT care_scope_overlaps(p_resident, p_wards, local_day_range(r.tenant_id, p_day))
        FROM residents r WHERE r.resident_id = p_resident), false)
$$;

REVOKE ALL ON FUNCTION erase_care_rows_during(bigint, tstzmultirange),
    erase_care_data_during(bigint, tstzmultirange) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION erase_care_data_during(bigint, tstzmultirange) TO stayactive_api;
