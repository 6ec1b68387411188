-- The acknowledgement tables of migration 0013 in the data catalogue (0014): ingest keeps them;
-- they hold a device's counters (boot, seq), no measurement and nothing of a resident, so an
-- erasure leaves them (deleting them would only make devices replay what is already stored).
INSERT INTO data_catalogue
    (table_name, category, ingest, analytics, api, reporting, tenant_key, erase, erase_time,
     retention) VALUES
('ack_watermarks', 'operations', 'raw',  '', '', '', NULL, 'none', NULL,
 'one row per device, overwritten'),
('ack_pending',    'operations', 'rawd', '', '', '', NULL, 'none', NULL,
 'until the watermark passes the key');
SELECT apply_data_catalogue();
