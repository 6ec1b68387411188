-- The analytics runner finds, for a session's end that arrives, every event of that session
-- (the residents it named are marked for recomputing): by session, not by a scan of every
-- robot event ever stored.
CREATE INDEX robot_events_session ON robot_events (tenant_id, session_id);
