-- Failed logins are counted per account name *and client address*, so that failing on purpose
-- from elsewhere does not lock a person out of their account (docs/api.md, "Lockout"). Three
-- kinds of row:
--
--   account_client  one name from one address: locked after a few failures (as before); it
--                   also remembers the last successful login of the name from the address, so
--                   that the address is exempt from the two locks below for 30 days
--   client          one address over every name: stops guessing across many accounts
--   account         one name over every address: stops guessing spread over many addresses
--
-- The rows kept so far were of one name over every address: they become 'account' rows (the
-- defaults also keep an API that is still running the old code working until it restarts).
-- An address is kept only while it is needed (docs/privacy.md): rows an hour past their last
-- failure, not locked and without a successful login in 30 days are deleted by the API every
-- few minutes and by `stayactive db maintain`.
ALTER TABLE login_throttle
    ADD COLUMN scope           text NOT NULL DEFAULT 'account',
    ADD COLUMN client          text NOT NULL DEFAULT '',
    ADD COLUMN last_success_at timestamptz;
ALTER TABLE login_throttle DROP CONSTRAINT login_throttle_pkey;
ALTER TABLE login_throttle
    ADD CONSTRAINT login_throttle_scope_check
        CHECK (scope IN ('account_client', 'client', 'account')),
    ADD CONSTRAINT login_throttle_key_check
        CHECK ((scope = 'account') = (client = '') AND (scope = 'client') = (username = '')
               AND length(client) <= 64),
    ADD CONSTRAINT login_throttle_success_check
        CHECK (last_success_at IS NULL OR scope = 'account_client'),
    ADD PRIMARY KEY (scope, username, client);

UPDATE data_catalogue
SET api = 'rawd',
    retention = 'failed-login counters per name, per client address and per both; a row goes '
                'an hour after its last failure once not locked, or 30 days after the last '
                'successful login of its name from its address'
WHERE table_name = 'login_throttle';
SELECT apply_data_catalogue();
