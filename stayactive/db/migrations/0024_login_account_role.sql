-- A login learns the account's role before the session is made: integrators call the API with
-- an API key, never a password (docs/api.md), so the password login of an account with the
-- integrator role (one given the role before `POST /users` refused it, or written by hand)
-- fails like a wrong password. The function gains the role; its rights are as before.
DROP FUNCTION auth_login_account(text);

CREATE FUNCTION auth_login_account(p_username text)
RETURNS TABLE (user_id bigint, tenant_id text, password_hash text, active boolean, role text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
    SELECT u.user_id, u.tenant_id, u.password_hash, u.active, u.role FROM users u
    WHERE u.username = p_username
$$;

REVOKE ALL ON FUNCTION auth_login_account(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_login_account(text) TO stayactive_api;
