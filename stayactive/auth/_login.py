"""Logging in: password check without a timing oracle, back-off and lockout per account name
and client address.

Failures are counted in three rows (``login_throttle``): the name from this address, the
address over every name, the name over every address. Each locks from its own threshold on
(:class:`LoginPolicy`): a few failures lock the name *from that address*; many from one
address lock the address (guessing across accounts); many from many addresses lock the name
everywhere (guessing spread over addresses). A name that logged in from an address within
``KNOWN_CLIENT`` is exempt there from the last two, so failures elsewhere, however many,
do not lock a person out where they usually log in.

Steps of :func:`log_in`:

0. A name no account can have (one that looks like a national identity number, as someone
   typing their fødselsnummer for BankID would, or one outside the user-name rule) is refused
   as a failed login at once: nothing can be guessed there, and neither the throttle table nor
   the log may keep it.
1. Take the name's throttle row (logins of one name run one at a time) and read the name's
   row from this address. Unless that address is known for the name, take the address's row
   too (logins from one unknown address run one at a time). If a row that applies is locked,
   refuse with :class:`AccountLocked` without checking the password.
2. Verify the password: against the user's argon2 hash, or a dummy hash when there is no such
   user, so both take the same time.
3. On failure count it in all three rows; a row that reaches its threshold is locked for
   ``BASE_LOCK_S`` doubled with every further failure, at most ``lockout_s``. Names that do
   not exist are counted and locked alike, so a lock says nothing about whether an account
   exists. An account with the integrator role fails here too, even with the right password:
   integrators call the API with an API key (docs/api.md).
4. On success (an active user) forget the failures of the name and of the name from this
   address, remember the address as known for the name (not the address's own failures: a
   valid account must not reset a guesser's count) and start a session.

Rows that no longer count are deleted by :func:`purge_login_throttle`, outside any login's
transaction.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import uuid
from dataclasses import dataclass

import anyio.to_thread
import psycopg
import psycopg.errors
from psycopg.rows import TupleRow

from stayactive import db
from stayactive.auth import _store
from stayactive.auth._passwords import verify_password
from stayactive.auth._store import Throttle, ThrottleKey, ThrottleScope
from stayactive.records import looks_like_national_id

log = logging.getLogger(__name__)

#: Failures are forgotten after this long without another.
FAILURE_WINDOW = db.LOGIN_FAILURE_WINDOW
#: A name's successful login from an address exempts it there from the wider locks this long.
KNOWN_CLIENT = db.LOGIN_KNOWN_CLIENT
#: At an address known for the name, the address's own lock applies from this many times its
#: threshold.
KNOWN_CLIENT_FACTOR = 4
#: Longest wait for the name's (or an unknown address's) row, which another login holds while
#: it checks a password; then 429.
LOCK_WAIT_S = 5.0
#: Buckets that are no address: a login from one is never remembered as known.
UNCOUNTED = ("unknown", "invalid")
#: The first lock; each further failure doubles it (capped by the lockout setting).
BASE_LOCK_S = 30.0
#: Doublings beyond this change nothing (2**16 × 30 s is far past any lockout setting) and
#: would overflow a float after about a thousand failures.
MAX_DOUBLINGS = 16
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
        doublings = min(failures - threshold, MAX_DOUBLINGS)
        return float(min(self.lockout_s, BASE_LOCK_S * 2.0**doublings))


@dataclass(frozen=True)
class LoggedIn:
    """A successful login."""

    user_id: int
    tenant_id: str
    session_id: uuid.UUID


def client_key(host: str | None) -> str:
    """How a client address is counted: an IPv4 address as it is, an IPv6 one by its /64;
    anything else (no address, text a proxy wrote) all in one bucket, so that made-up values
    cannot each get a count of their own."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return UNCOUNTED[0] if not host else UNCOUNTED[1]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # ::ffff:192.0.2.1 is 192.0.2.1
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))
    return str(address)


def _applies(row: Throttle, pair: Throttle, policy: LoginPolicy) -> bool:
    """Whether ``row``'s lock refuses this login. At an address known for the name only the
    name's own row there applies, and the address's once it has counted
    ``KNOWN_CLIENT_FACTOR`` times its threshold (an infected PC behind a care home's shared
    address would otherwise guess at every colleague's name known there without limit)."""
    if row.key.scope != "client" or not pair.known_within(KNOWN_CLIENT):
        return True
    return row.failures >= KNOWN_CLIENT_FACTOR * policy.max_failures_per_client


def could_be_an_account(name: str) -> bool:
    """False for a name no account can have: outside the user-name rule, or shaped like a
    national identity number (user names refuse them)."""
    if re.fullmatch(_store.USERNAME_PATTERN, name) is None:
        return False
    return not looks_like_national_id(name)


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
        A row that applies is locked; nothing was checked.
    LoginFailed
        Wrong name or password, or the account is disabled. The failure is counted: the caller
        must commit even then.
    """
    name = username.strip().lower()
    # 0. NEVER STORED NOR LOGGED (docs/privacy.md): not counted either, as no account has it
    if not could_be_an_account(name):
        log.info("login: refused a name no account can have (not kept)")
        raise LoginFailed("wrong username or password")
    address = client_key(client)
    account_key = ThrottleKey("account", name, "")
    pair_key = ThrottleKey("account_client", name, address)
    address_key = ThrottleKey("client", "", address)
    # 1. THE THROTTLE ROWS: the name's is taken, so logins of one name run one at a time (a
    # flood of guesses on it makes a login wait at most LOCK_WAIT, then 429); the name's row
    # from this address is covered by it
    await conn.execute(f"SET LOCAL lock_timeout = '{LOCK_WAIT_S:g}s'")
    try:
        account = await _store.take_throttle(conn, account_key, FAILURE_WINDOW)
        pair = await _store.read_throttle(conn, pair_key, FAILURE_WINDOW)
        if pair.known_within(KNOWN_CLIENT):
            rows = [pair, await _store.read_throttle(conn, address_key, FAILURE_WINDOW)]
        else:
            rows = [pair, account, await _store.take_throttle(conn, address_key, FAILURE_WINDOW)]
    except psycopg.errors.LockNotAvailable as exc:
        raise AccountLocked(LOCK_WAIT_S, 0, "account") from exc
    locked = max((r for r in rows if _applies(r, pair, policy)), key=lambda r: r.locked_for_s)
    if locked.locked_for_s > 0:
        raise AccountLocked(locked.locked_for_s, locked.failures, locked.key.scope)
    # 2. VERIFY (a dummy hash for unknown names)
    user = await _store.login_account(conn, name)
    stored_hash = user.password_hash if user is not None else None
    ok = await anyio.to_thread.run_sync(verify_password, stored_hash, password)
    # An integrator's password fails like a wrong one, and is counted the same way, so that
    # the answer tells nothing (integrators use an API key: IntegratorNeedsApiKey).
    integrator = user is not None and user.role == "integrator"
    if integrator and ok:
        log.info("login: refused %r, an integrator account (integrators use an API key)", name)
    if not ok or user is None or not user.active or integrator:
        # 3. COUNT, AND LOCK FROM THE THRESHOLDS ON
        for key in (pair_key, account_key, address_key):
            await _count_failure(conn, key, policy)
        raise LoginFailed("wrong username or password")
    # 4. SUCCESS (the rest of the transaction is the account's tenant's)
    await _store.record_success(conn, account_key, pair_key, known=address not in UNCOUNTED)
    await _store.set_tenant(conn, user.tenant_id)
    await _store.record_login(conn, user.user_id)
    session_id = await _store.create_session(
        conn, user.tenant_id, user.user_id, policy.session_ttl_s
    )
    log.info("login: %r (user %d) started a session", name, user.user_id)
    return LoggedIn(user.user_id, user.tenant_id, session_id)


async def purge_login_throttle(conn: psycopg.AsyncConnection[TupleRow]) -> int:
    """Delete the throttle rows that no longer count, and the addresses in them, in a
    transaction of their own (rows a login holds are skipped); return how many."""
    async with conn.transaction():
        return await _store.purge_throttle(conn)


_WHAT = {
    "account_client": "account name {name!r} from {client}",
    "client": "client address {client}",
    "account": "account name {name!r} (from every address)",
}


async def _count_failure(
    conn: psycopg.AsyncConnection[TupleRow], key: ThrottleKey, policy: LoginPolicy
) -> None:
    """Count a failure in the row ``key``; lock it from its threshold on (logged as a warning)."""
    failures = await _store.record_failure(conn, key, FAILURE_WINDOW)
    lock_s = policy.lock_after(failures, key.scope)
    what = _WHAT[key.scope].format(name=key.username, client=key.client)
    if lock_s is None:
        if key.scope == "account_client":
            log.info("login: failed for %s (%d in a row)", what, failures)
        return
    await _store.lock_for(conn, key, lock_s)
    log.warning("login: %s locked for %.0f s after %d failed logins", what, lock_s, failures)
