"""Logging in: password check without a timing oracle, back-off and lockout per account name
and client address.

Failures are counted in three rows (``login_throttle``): the name from this address, the
address over every name, the name over every address. Each locks from its own threshold on
(:class:`LoginPolicy`): a few failures lock the name *from that address* only, so nobody can
lock another person out of an account by failing on purpose; many failures from one address
lock the address (guessing across accounts); many from many addresses lock the name
everywhere (guessing spread over addresses).

Steps of :func:`log_in`:

0. A name that looks like a national identity number (someone typed their fødselsnummer, as
   they would for BankID) is refused as a failed login at once: no account can have one (user
   names refuse them), and neither the throttle table nor the log may keep it.
1. Take the name's throttle row (logins of one name run one at a time) and read the other two.
   If any is locked, refuse with :class:`AccountLocked` without checking the password.
2. Verify the password: against the user's argon2 hash, or a dummy hash when there is no such
   user, so both take the same time.
3. On failure count it in all three rows; a row that reaches its threshold is locked for
   ``BASE_LOCK_S`` doubled with every further failure, at most ``lockout_s``. Names that do
   not exist are counted and locked alike, so a lock says nothing about whether an account
   exists. An account with the integrator role fails here too, even with the right password:
   integrators call the API with an API key (docs/api.md).
4. On success (an active user) forget the failures of the name and of the name from this
   address (not of the address: a valid account must not reset a guesser's count) and start a
   session.
"""

from __future__ import annotations

import ipaddress
import logging
import uuid
from dataclasses import dataclass

import anyio.to_thread
import psycopg
from psycopg.rows import TupleRow

from stayactive import db
from stayactive.auth import _store
from stayactive.auth._passwords import verify_password
from stayactive.auth._store import Throttle, ThrottleKey, ThrottleScope
from stayactive.records import looks_like_national_id

log = logging.getLogger(__name__)

#: Failures are forgotten after this long without another.
FAILURE_WINDOW = db.LOGIN_FAILURE_WINDOW
#: The first lock; each further failure doubles it (capped by the lockout setting).
BASE_LOCK_S = 30.0
#: IPv6 clients are counted by their /64: one subscriber usually holds a whole /64.
IPV6_PREFIX = 64


class LoginFailed(Exception):
    """Wrong name or password, or a disabled account (the caller cannot tell which)."""


class AccountLocked(Exception):
    """Too many failed logins: ``scope`` says of what ("client": the address over every name,
    else the account name, from this address or from all); ``retry_after_s`` how long."""

    def __init__(self, retry_after_s: float, failures: int, scope: ThrottleScope) -> None:
        self.retry_after_s = retry_after_s
        self.failures = failures
        self.scope = scope
        super().__init__(f"locked for {retry_after_s:.0f} s after {failures} failed logins")


@dataclass(frozen=True)
class LoginPolicy:
    """How logins are throttled: thresholds per name from one address, per address, per name."""

    max_failures: int = 5
    max_failures_per_client: int = 30
    max_failures_per_account: int = 50
    lockout_s: float = 900.0
    session_ttl_s: int = 12 * 3600

    def threshold(self, scope: ThrottleScope) -> int:
        """The failures of a ``scope`` row from which it locks."""
        return {
            "account_client": self.max_failures,
            "client": self.max_failures_per_client,
            "account": self.max_failures_per_account,
        }[scope]

    def lock_after(self, failures: int, scope: ThrottleScope = "account_client") -> float | None:
        """Seconds to lock a ``scope`` row after its ``failures``-th failure (None: no lock)."""
        threshold = self.threshold(scope)
        if failures < threshold:
            return None
        return float(min(self.lockout_s, BASE_LOCK_S * 2.0 ** (failures - threshold)))


@dataclass(frozen=True)
class LoggedIn:
    """A successful login."""

    user_id: int
    tenant_id: str
    session_id: uuid.UUID


def client_key(host: str | None) -> str:
    """How a client address is counted: an IPv4 address as it is, an IPv6 one by its /64,
    anything else (no address, a test client's name) as text of at most 64 characters."""
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # ::ffff:192.0.2.1 is 192.0.2.1
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))
    return str(address)


def _keys(name: str, client: str) -> tuple[ThrottleKey, ThrottleKey, ThrottleKey]:
    """The name's row (taken first), the name from this address, the address."""
    return (
        ThrottleKey("account", name, ""),
        ThrottleKey("account_client", name, client),
        ThrottleKey("client", "", client),
    )


async def log_in(
    conn: psycopg.AsyncConnection[TupleRow],
    username: str,
    password: str,
    policy: LoginPolicy,
    client: str | None = None,
) -> LoggedIn:
    """Check a login from the address ``client`` in the caller's transaction (see the module
    docstring for the steps).

    Raises
    ------
    AccountLocked
        The name (from this address or from all) or the address is locked; nothing was checked.
    LoginFailed
        Wrong name or password, or the account is disabled. The failure is counted: the caller
        must commit even then.
    """
    name = username.strip().lower()
    # 0. NEVER STORED NOR LOGGED (docs/privacy.md): not counted either, as no account has it
    if looks_like_national_id(name):
        log.info("login: refused a name that looks like a national identity number (not kept)")
        raise LoginFailed("wrong username or password")
    address = client_key(client)
    keys = _keys(name, address)
    # 1. THE THROTTLE ROWS: the name's is taken, so logins of one name run one at a time
    rows = [await _store.lock_throttle(conn, keys[0], FAILURE_WINDOW)]
    rows += [await _store.read_throttle(conn, key, FAILURE_WINDOW) for key in keys[1:]]
    locked = max(rows, key=lambda row: row.locked_for_s)
    if locked.locked_for_s > 0:
        raise AccountLocked(locked.locked_for_s, locked.failures, locked.key.scope)
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
        # 3. COUNT, AND LOCK FROM THE THRESHOLDS ON
        await _store.purge_throttle(conn)
        for row in rows:
            await _count_failure(conn, row, policy)
        raise LoginFailed("wrong username or password")
    # 4. SUCCESS (the rest of the transaction is the account's tenant's)
    for key in keys[:2]:
        await _store.reset_throttle(conn, key)
    await _store.set_tenant(conn, account.tenant_id)
    await _store.record_login(conn, account.user_id)
    session_id = await _store.create_session(
        conn, account.tenant_id, account.user_id, policy.session_ttl_s
    )
    log.info("login: %r (user %d) started a session", name, account.user_id)
    return LoggedIn(account.user_id, account.tenant_id, session_id)


_WHAT = {
    "account_client": "account name {name!r} from {client}",
    "client": "client address {client}",
    "account": "account name {name!r} (from every address)",
}


async def _count_failure(
    conn: psycopg.AsyncConnection[TupleRow], row: Throttle, policy: LoginPolicy
) -> None:
    """Count a failure in ``row``; lock it from its threshold on (logged as a warning)."""
    key = row.key
    failures = await _store.record_failure(conn, key, FAILURE_WINDOW)
    lock_s = policy.lock_after(failures, key.scope)
    what = _WHAT[key.scope].format(name=key.username, client=key.client)
    if lock_s is None:
        if key.scope == "account_client":
            log.info("login: failed for %s (%d in a row)", what, failures)
        return
    await _store.lock_for(conn, key, lock_s)
    log.warning("login: %s locked for %.0f s after %d failed logins", what, lock_s, failures)
