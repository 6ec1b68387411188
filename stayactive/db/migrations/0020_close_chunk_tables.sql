-- TimescaleDB keeps a hypertable's rows in chunk tables in `_timescaledb_internal`. A chunk gets
-- the hypertable's grants (copied when it is made, and again by every GRANT or REVOKE on the
-- hypertable) but not its row-level security (timescaledb issue #7830): the API's role, which
-- may read `walker_frames` for one municipality, could read every municipality's frames by
-- naming a chunk. The schema cannot be closed instead: TimescaleDB looks up its own relations
-- there in every session, so a role without USAGE on it cannot run any query at all.
--
-- So the service roles lose every privilege on the chunks: reads and writes through a
-- hypertable do not need one (PostgreSQL checks the table a query names, and TimescaleDB routes
-- rows into a chunk, or makes one with the owner's rights, for any role that may insert into
-- the hypertable). A chunk made later is closed by a statement trigger on its hypertable,
-- before the inserting transaction commits, so no other session ever sees it open; and
-- apply_data_catalogue() closes them all again after its grants, and puts the trigger on every
-- hypertable of the schema (a hypertable added later included). tests/privacy/test_chunk_tables.py.

-- The chunks (and TimescaleDB's compressed chunks) of `hypertable` made since `made_since` that
-- grant anything to a service role lose those privileges; returns how many. Owner's rights: only
-- the owner of a chunk may revoke on it.
CREATE FUNCTION close_chunk_tables(hypertable regclass, made_since timestamptz DEFAULT '-infinity')
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    roles constant oid[] := ARRAY['stayactive_ingest', 'stayactive_analytics',
                                  'stayactive_api', 'stayactive_reporting']::regrole[]::oid[];
    chunk   regclass;
    closed  integer := 0;
BEGIN
    -- Nearly always nothing to do (a chunk is opened once, when it is made): a static query,
    -- planned once per session, over the recent chunks only (TimescaleDB's index on
    -- hypertable_id, creation_time), each looked up by name in pg_class's index.
    FOR chunk IN
        SELECT r.oid::regclass
        FROM pg_class t
        JOIN pg_namespace tn ON tn.oid = t.relnamespace
        JOIN _timescaledb_catalog.hypertable h
          ON h.schema_name = tn.nspname AND h.table_name = t.relname
        JOIN _timescaledb_catalog.chunk c
          ON c.hypertable_id IN (h.id, h.compressed_hypertable_id) AND NOT c.dropped
         AND c.creation_time >= made_since
        JOIN pg_namespace cn ON cn.nspname = c.schema_name
        JOIN pg_class r ON r.relname = c.table_name AND r.relnamespace = cn.oid
        WHERE t.oid = hypertable
          AND EXISTS (SELECT 1 FROM aclexplode(r.relacl) a WHERE a.grantee = ANY (roles))
    LOOP
        -- Two inserting sessions could both find a chunk open; one revokes, then the other.
        PERFORM pg_advisory_xact_lock(hashtext('stayactive-close-chunks'));
        EXECUTE format('REVOKE ALL ON %s FROM stayactive_ingest, stayactive_analytics, '
                       'stayactive_api, stayactive_reporting', chunk);
        closed := closed + 1;
    END LOOP;
    RETURN closed;
END $$;
REVOKE ALL ON FUNCTION close_chunk_tables(regclass, timestamptz) FROM PUBLIC;
-- The trigger runs as the inserting role: it may call this (which only takes away its own
-- privileges on chunks), not the owner's other functions.
GRANT EXECUTE ON FUNCTION close_chunk_tables(regclass, timestamptz) TO stayactive_ingest, stayactive_analytics,
    stayactive_api, stayactive_reporting;

-- The statement trigger, once per INSERT or COPY into a hypertable; the revoking runs with the
-- owner's rights (the function above), found in the hypertable's schema whatever the search path.
-- A chunk this statement made has a creation_time (the wall clock) after the transaction began
-- (now()); the hour's margin keeps a chunk made just after the clock was set back covered.
CREATE FUNCTION close_new_chunks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('SELECT %I.close_chunk_tables($1, $2)', TG_TABLE_SCHEMA)
        USING TG_RELID, now() - interval '1 hour';
    RETURN NULL;
END $$;

-- apply_data_catalogue() (0014) grants on the hypertables, which TimescaleDB copies to their
-- chunks; it now ends by closing them and by putting the trigger on each hypertable.
ALTER FUNCTION apply_data_catalogue() RENAME TO apply_data_catalogue_grants;
CREATE FUNCTION apply_data_catalogue() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    hypertable regclass;
BEGIN
    PERFORM apply_data_catalogue_grants();
    FOR hypertable IN
        SELECT format('%I.%I', h.hypertable_schema, h.hypertable_name)::regclass
        FROM timescaledb_information.hypertables h
        WHERE h.hypertable_schema = current_schema()
    LOOP
        EXECUTE format('CREATE OR REPLACE TRIGGER close_new_chunks AFTER INSERT ON %s '
                       'FOR EACH STATEMENT EXECUTE FUNCTION %I.close_new_chunks()',
                       hypertable, current_schema());
        PERFORM close_chunk_tables(hypertable);
    END LOOP;
END $$;

SELECT apply_data_catalogue();
