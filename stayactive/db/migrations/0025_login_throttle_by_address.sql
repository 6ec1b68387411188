-- Failed logins are counted per account name *and client address*, so that nobody can lock
-- another person out of their account by failing on purpose from elsewhere (docs/api.md,
-- "Logging in"). Three kinds of row:
--
--   account_client  one name from one address: locked after a few failures (as before)
--   client          one address over every name: stops guessing across many accounts
--   account         one name over every address: stops guessing spread over many addresses
--
-- The rows kept so far were of one name over every address: they become 'account' rows.
-- An address is kept only while its failures count (docs/privacy.md): a successful login
-- deletes its name-and-address row, and rows an hour past their last failure and not locked
-- are deleted by the next failed login and by `stayactive db maintain`.
ALTER TABLE login_throttle
    ADD COLUMN scope  text NOT NULL DEFAULT 'account',
    ADD COLUMN client text NOT NULL DEFAULT '';
ALTER TABLE login_throttle DROP CONSTRAINT login_throttle_pkey;
ALTER TABLE login_throttle
    ALTER COLUMN scope DROP DEFAULT,
    ADD CONSTRAINT login_throttle_scope_check
        CHECK (scope IN ('account_client', 'client', 'account')),
    ADD CONSTRAINT login_throttle_client_check
        CHECK ((scope = 'account') = (client = '') AND length(client) <= 64),
    ADD PRIMARY KEY (scope, username, client);

UPDATE data_catalogue
SET api = 'rawd',
    retention = 'failed-login counters per name, per client address and per both; an address '
                'is deleted an hour after its last failure (or at a successful login)'
WHERE table_name = 'login_throttle';
SELECT apply_data_catalogue();
