-- The fleet view (GET /api/v1/fleet, migration 0017) counts a device's rejects, including those
-- beyond its rate limit that ingest only counts per hour (ingest_reject_overflow, 0008). The
-- API's role reads ingest_rejects already (0014); it needs the overflow counts too. They hold
-- a device id, an hour, a reason and a count: nothing of a resident.
UPDATE data_catalogue SET api = 'r' WHERE table_name = 'ingest_reject_overflow';
SELECT apply_data_catalogue();
