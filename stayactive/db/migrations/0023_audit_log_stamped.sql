-- The audit log's time and number are the database's own for every service role: a row the
-- API (or any service role) inserts gets `at = now()` and an id from the log's own sequence,
-- whatever the INSERT said. Before, the API's role could write a row dated in the past (where a
-- reviewer of an earlier period would find it) or, with OVERRIDING SYSTEM VALUE, take an id
-- ahead of the sequence, on which a later genuine audit row, and so the request it guards,
-- would fail. The owner (migrations, the operator's commands, tests' fixtures) is not narrowed.
CREATE FUNCTION audit_log_stamp() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    seq   constant text := pg_get_serial_sequence('audit_log', 'audit_id');
    drawn bigint;
BEGIN
    NEW.at := now();
    BEGIN
        drawn := currval(seq);  -- the id the identity default just drew in this session
    EXCEPTION WHEN object_not_in_prerequisite_state THEN
        drawn := NULL;
    END;
    IF drawn IS DISTINCT FROM NEW.audit_id THEN
        NEW.audit_id := nextval(seq);
    END IF;
    RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION audit_log_stamp() FROM PUBLIC;

CREATE TRIGGER audit_log_stamped BEFORE INSERT ON audit_log FOR EACH ROW
    WHEN (current_user IN ('stayactive_ingest', 'stayactive_analytics', 'stayactive_api',
                           'stayactive_reporting'))
    EXECUTE FUNCTION audit_log_stamp();
