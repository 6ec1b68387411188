"""Logging in: password check without a timing oracle, per-account back-off and lockout.

Steps of :func:`log_in`:

0. A name that looks like a national identity number (someone typed their fødselsnummer, as
   they would for BankID) is refused as a failed login at once: no account can have one (user
   names refuse them), and neither the throttle table nor the log may keep it.
1. Take the account name's throttle row (logins of one name run one at a time). If the name is
   locked, refuse with :class:`AccountLocked` without checking the password.
2. Verify the password: against the user's argon2 hash, or a dummy hash when there is no such
   user, so both take the same time.
3. On failure count it; from the ``max_failures``-th failure on, lock the name for
   ``BASE_LOCK_S`` doubled with every further failure, at most ``lockout_s``. Names that do not
   exist are counted and locked alike, so a lock says nothing about whether an account exists.
   An account with the integrator role fails here too, even with the right password:
   integrators call the API with an API key (docs/api.md).
4. On success (an active user) forget the failures and start a session.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

import anyio.to_thread
import psycopg
from psycopg.rows import TupleRow

from stayactive.auth import _store
from stayactive.auth._passwords import verify_password
from stayactive.records import looks_like_national_id

log = logging.getLogger(__name__)

#: Failures are forgotten after this long without another.
FAILURE_WINDOW_S = 3600
#: The first lock; each further failure doubles it (capped by the lockout setting).
BASE_LOCK_S = 30.0


class LoginFailed(Exception):
    """Wrong name or password, or a disabled account (the caller cannot tell which)."""


class AccountLocked(Exception):
    """Too many failed logins for this account name; ``retry_after_s`` says how long."""

    def __init__(self, retry_after_s: float, failures: int) -> None:
        self.retry_after_s = retry_after_s
        self.failures = failures
        super().__init__(f"locked for {retry_after_s:.0f} s after {failures} failed logins")


@dataclass(frozen=True)
class LoginPolicy:
    """How logins are throttled."""

    max_failures: int = 5
    lockout_s: float = 900.0
    session_ttl_s: int = 12 * 3600

    def lock_after(self, failures: int) -> float | None:
        """Seconds to lock after the ``failures``-th failure (None: no lock yet)."""
        if failures < self.max_failures:
            return None
        return float(min(self.lockout_s, BASE_LOCK_S * 2.0 ** (failures - self.max_failures)))


@dataclass(frozen=True)
class LoggedIn:
    """A successful login."""

    user_id: int
    tenant_id: str
    session_id: uuid.UUID


async def log_in(
    conn: psycopg.AsyncConnection[TupleRow], username: str, password: str, policy: LoginPolicy
) -> LoggedIn:
    """Check a login in the caller's transaction (see the module docstring for the steps).

    Raises
    ------
    AccountLocked
        The name is locked; nothing was checked.
    LoginFailed
        Wrong name or password, or the account is disabled. The failure is counted: the caller
        must commit even then.
    """
    name = username.strip().lower()
    # 0. NEVER STORED NOR LOGGED (docs/privacy.md): not counted either, as no account has it
    if looks_like_national_id(name):
        log.info("login: refused a name that looks like a national identity number (not kept)")
        raise LoginFailed("wrong username or password")
    # 1. THE THROTTLE ROW
    throttle = await _store.lock_throttle(conn, name, FAILURE_WINDOW_S)
    if throttle.locked_for_s > 0:
        raise AccountLocked(throttle.locked_for_s, throttle.failures)
    # 2. VERIFY (a dummy hash for unknown names)
    account = await _store.login_account(conn, name)
    stored_hash = account.password_hash if account is not None else None
    ok = await anyio.to_thread.run_sync(verify_password, stored_hash, password)
    # An integrator's password fails like a wrong one, and is counted the same way, so that
    # the answer tells nothing (integrators use an API key: IntegratorNeedsApiKey).
    integrator = account is not None and account.role == "integrator"
    if integrator and ok:
        log.info("login: refused %r, an integrator account (integrators use an API key)", name)
    if not ok or account is None or not account.active or integrator:
        # 3. COUNT, AND LOCK FROM THE THRESHOLD ON
        failures = throttle.failures + 1
        lock_s = policy.lock_after(failures)
        await _store.record_failure(conn, name, lock_s)
        if lock_s is not None:
            log.warning(
                "login: account name %r locked for %.0f s after %d failed logins",
                name,
                lock_s,
                failures,
            )
        else:
            log.info("login: failed for %r (%d in a row)", name, failures)
        raise LoginFailed("wrong username or password")
    # 4. SUCCESS (the rest of the transaction is the account's tenant's)
    await _store.reset_throttle(conn, name)
    await _store.set_tenant(conn, account.tenant_id)
    await _store.record_login(conn, account.user_id)
    session_id = await _store.create_session(
        conn, account.tenant_id, account.user_id, policy.session_ttl_s
    )
    log.info("login: %r (user %d) started a session", name, account.user_id)
    return LoggedIn(account.user_id, account.tenant_id, session_id)
