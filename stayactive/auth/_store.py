"""The SQL of accounts: users and their ward scope, sessions, login throttling, API keys.

Async functions on one connection; the caller owns the transaction. Used by the API and, through
``asyncio.run``, by the ``stayactive users`` commands, so there is one implementation of each.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, cast

import psycopg
from psycopg.rows import TupleRow

from stayactive import db
from stayactive.auth._principal import Principal, Role
from stayactive.errors import StayActiveError

_AConn = psycopg.AsyncConnection[TupleRow]

API_KEY_PREFIX = "sa_"
#: What a user name may be (the database's CHECK on ``users.username`` says the same).
USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._@-]{1,127}$"


@dataclass(frozen=True)
class UserRow:
    """A user as listed (never with the hash)."""

    user_id: int
    tenant_id: str
    username: str
    role: Role
    active: bool
    ward_ids: tuple[int, ...]
    created_at: datetime
    last_login_at: datetime | None


@dataclass(frozen=True)
class LoginAccount:
    """What a login needs of an account."""

    user_id: int
    tenant_id: str
    password_hash: str
    active: bool
    role: str


@dataclass(frozen=True)
class ApiKeyRow:
    """An API key as listed (never with the secret)."""

    key_id: str
    tenant_id: str
    name: str
    role: Role
    created_at: datetime
    created_by: str
    last_used_at: datetime | None
    revoked_at: datetime | None


# --- users ------------------------------------------------------------------------------------


async def resolve_wards(conn: _AConn, tenant_id: str, refs: list[str]) -> list[int]:
    """Ward ids for ``refs``: an id, a ward name unique in the tenant, or ``site/ward``.

    Raises LookupError naming the first reference that matches no ward or several.
    """
    out: list[int] = []
    for ref in refs:
        site, _, ward = ref.rpartition("/")
        cur = await conn.execute(
            """SELECT w.ward_id FROM wards w JOIN sites s ON s.site_id = w.site_id
               WHERE w.tenant_id = %(t)s
                 AND (w.ward_id::text = %(ref)s
                      OR (w.name = %(ward)s AND (%(site)s = '' OR s.name = %(site)s)))""",
            {"t": tenant_id, "ref": ref, "ward": ward, "site": site},
        )
        rows = await cur.fetchall()
        if len(rows) != 1:
            what = "no ward" if not rows else f"{len(rows)} wards (write site/ward)"
            raise LookupError(f"{ref!r} names {what} of tenant {tenant_id!r}")
        out.append(int(rows[0][0]))
    return out


class WardsNeeded(StayActiveError):
    """A care-staff user without a ward: care staff see only their wards' residents, so the
    account would show nothing (take a user's access away by disabling it)."""


class IntegratorNeedsApiKey(StayActiveError):
    """A password user with the integrator role: integrators call the API with an API key
    (docs/api.md), so such an account is refused where it would be made, and the password
    login of one made before this rule (or by hand in the database) fails."""

    def __init__(self) -> None:
        super().__init__(
            "integratorer bruker en API-nøkkel, ikke passord: opprett en med POST /api-keys "
            "eller `stayactive apikeys add --tenant … --name …` / integrators use an API key, "
            "not a password: create one with POST /api-keys or "
            "`stayactive apikeys add --tenant … --name …`"
        )


def check_user_role(role: str) -> None:
    """Raise :class:`IntegratorNeedsApiKey` if ``role`` is not one for a password user."""
    if role == "integrator":
        raise IntegratorNeedsApiKey()


def check_scope(role: str, n_wards: int) -> None:
    """Raise :class:`WardsNeeded` if ``role`` may not have a scope of ``n_wards`` wards."""
    if role == "care_staff" and n_wards == 0:
        raise WardsNeeded("care staff need at least one ward")


async def _role_and_wards(conn: _AConn, user_id: int) -> tuple[str, int] | None:
    cur = await conn.execute(
        """SELECT u.role, count(s.ward_id) FROM users u
           LEFT JOIN user_ward_scope s ON s.user_id = u.user_id
           WHERE u.user_id = %s GROUP BY u.role""",
        (user_id,),
    )
    row = await cur.fetchone()
    return None if row is None else (str(row[0]), int(row[1]))


async def add_user(
    conn: _AConn,
    tenant_id: str,
    username: str,
    role: Role,
    password_hash: str,
    ward_ids: list[int],
) -> int:
    """Create a user with its ward scope; return the id (IntegrityError if the name is taken,
    :class:`WardsNeeded` for care staff without a ward, :class:`IntegratorNeedsApiKey` for
    an integrator)."""
    check_user_role(role)
    check_scope(role, len(set(ward_ids)))
    cur = await conn.execute(
        """INSERT INTO users (tenant_id, username, role, password_hash)
           VALUES (%s, %s, %s, %s) RETURNING user_id""",
        (tenant_id, username, role, password_hash),
    )
    row = await cur.fetchone()
    assert row is not None
    user_id = int(row[0])
    await set_wards(conn, tenant_id, user_id, ward_ids)
    return user_id


async def set_wards(conn: _AConn, tenant_id: str, user_id: int, ward_ids: list[int]) -> None:
    """Replace the user's ward scope (:class:`WardsNeeded` if care staff would have none)."""
    current = await _role_and_wards(conn, user_id)
    if current is not None:
        check_scope(current[0], len(set(ward_ids)))
    await conn.execute("DELETE FROM user_ward_scope WHERE user_id = %s", (user_id,))
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO user_ward_scope (tenant_id, user_id, ward_id) VALUES (%s, %s, %s)",
            [(tenant_id, user_id, w) for w in sorted(set(ward_ids))],
        )


async def login_account(conn: _AConn, username: str) -> LoginAccount | None:
    """The account a login names, or None.

    Asked before the tenant is known, so through ``auth_login_account`` (owner's rights, one
    row): the API's role sees users only of the tenant its transaction names.
    """
    cur = await conn.execute("SELECT * FROM auth_login_account(%s)", (username,))
    row = await cur.fetchone()
    if row is None:
        return None
    return LoginAccount(int(row[0]), str(row[1]), str(row[2]), bool(row[3]), str(row[4]))


async def set_tenant(conn: _AConn, tenant_id: str) -> None:
    """Name the tenant of this transaction: row-level security shows the API's role only its
    rows (``stayactive.tenant_id``, docs/privacy.md)."""
    await conn.execute("SELECT set_config('stayactive.tenant_id', %s, true)", (tenant_id,))


async def record_login(conn: _AConn, user_id: int) -> None:
    """Note the time of a successful login (``stayactive users expire`` reads it)."""
    await conn.execute("UPDATE users SET last_login_at = now() WHERE user_id = %s", (user_id,))


async def user_id_of(conn: _AConn, username: str, tenant_id: str | None = None) -> int | None:
    """The id of ``username`` (in ``tenant_id`` if given), or None."""
    cur = await conn.execute(
        "SELECT user_id FROM users WHERE username = %s AND (%s::text IS NULL OR tenant_id = %s)",
        (username, tenant_id, tenant_id),
    )
    row = await cur.fetchone()
    return None if row is None else int(row[0])


async def set_password(conn: _AConn, user_id: int, password_hash: str) -> None:
    """Change a password; every session of the user ends."""
    await conn.execute(
        "UPDATE users SET password_hash = %s WHERE user_id = %s", (password_hash, user_id)
    )
    await revoke_user_sessions(conn, user_id, "password changed")


async def set_role(conn: _AConn, user_id: int, role: Role) -> Role | None:
    """Change a user's role (effective on their next request: every request reads it); return
    the previous role, None if there is no such user. :class:`WardsNeeded` for care staff
    without a ward, :class:`IntegratorNeedsApiKey` for the integrator role (users have
    passwords)."""
    check_user_role(role)
    current = await _role_and_wards(conn, user_id)
    if current is not None:
        check_scope(role, current[1])
    cur = await conn.execute(
        """UPDATE users u SET role = %s FROM users old
           WHERE u.user_id = %s AND old.user_id = u.user_id RETURNING old.role""",
        (role, user_id),
    )
    row = await cur.fetchone()
    return None if row is None else cast(Role, row[0])


async def set_active(conn: _AConn, user_id: int, active: bool) -> None:
    """Enable or disable a user; disabling ends every session at once."""
    await conn.execute("UPDATE users SET active = %s WHERE user_id = %s", (active, user_id))
    if not active:
        await revoke_user_sessions(conn, user_id, "account disabled")


async def list_users(conn: _AConn, tenant_id: str | None) -> list[UserRow]:
    """Users of ``tenant_id`` (all tenants with None), by name."""
    cur = await conn.execute(
        """SELECT u.user_id, u.tenant_id, u.username, u.role, u.active,
                  coalesce(array_agg(s.ward_id ORDER BY s.ward_id)
                           FILTER (WHERE s.ward_id IS NOT NULL), '{}'),
                  u.created_at, u.last_login_at
           FROM users u LEFT JOIN user_ward_scope s ON s.user_id = u.user_id
           WHERE %(t)s::text IS NULL OR u.tenant_id = %(t)s
           GROUP BY u.user_id ORDER BY u.tenant_id, u.username""",
        {"t": tenant_id},
    )
    return [
        UserRow(
            int(r[0]),
            str(r[1]),
            str(r[2]),
            cast(Role, r[3]),
            bool(r[4]),
            tuple(int(w) for w in r[5]),
            r[6],
            r[7],
        )
        for r in await cur.fetchall()
    ]


# --- sessions ---------------------------------------------------------------------------------


async def create_session(conn: _AConn, tenant_id: str, user_id: int, ttl_s: int) -> uuid.UUID:
    """Start a session of ``ttl_s`` seconds; return its id (the token's ``sid``)."""
    session_id = uuid.uuid4()
    await conn.execute(
        """INSERT INTO api_sessions (session_id, tenant_id, user_id, expires_at)
           VALUES (%s, %s, %s, now() + %s)""",
        (session_id, tenant_id, user_id, timedelta(seconds=ttl_s)),
    )
    return session_id


_PRINCIPAL_OF_SESSION = """
    SELECT u.user_id, u.username, u.tenant_id, t.time_zone, u.role,
           coalesce((SELECT array_agg(ward_id) FROM user_ward_scope w
                     WHERE w.user_id = u.user_id), '{}')
    FROM api_sessions s
    JOIN users u ON u.user_id = s.user_id AND u.tenant_id = s.tenant_id
    JOIN tenants t ON t.tenant_id = u.tenant_id
    WHERE s.session_id = %s AND s.user_id = %s AND s.tenant_id = %s
      AND s.revoked_at IS NULL AND s.expires_at > now() AND u.active
"""


async def session_principal(
    conn: _AConn, session_id: uuid.UUID, user_id: int, tenant_id: str
) -> Principal | None:
    """The principal of a live session of an active user, or None (revoked, expired, disabled)."""
    cur = await conn.execute(_PRINCIPAL_OF_SESSION, (session_id, user_id, tenant_id))
    row = await cur.fetchone()
    if row is None:
        return None
    return Principal(
        actor=str(row[1]),
        tenant_id=str(row[2]),
        time_zone=str(row[3]),
        role=cast(Role, row[4]),
        user_id=int(row[0]),
        ward_ids=frozenset(int(w) for w in row[5]),
        session_id=session_id,
    )


async def session_expiry(conn: _AConn, session_id: uuid.UUID) -> datetime | None:
    """When a live session ends; None if it is over."""
    cur = await conn.execute(
        """UPDATE api_sessions SET last_seen_at = now()
           WHERE session_id = %s AND revoked_at IS NULL AND expires_at > now()
           RETURNING expires_at""",
        (session_id,),
    )
    row = await cur.fetchone()
    return None if row is None else row[0]


async def revoke_session(conn: _AConn, session_id: uuid.UUID, why: str) -> None:
    """End one session (logout)."""
    await conn.execute(
        """UPDATE api_sessions SET revoked_at = now(), revoked_why = %s
           WHERE session_id = %s AND revoked_at IS NULL""",
        (why, session_id),
    )


async def revoke_user_sessions(conn: _AConn, user_id: int, why: str) -> int:
    """End every session of a user; return how many were live."""
    cur = await conn.execute(
        """UPDATE api_sessions SET revoked_at = now(), revoked_why = %s
           WHERE user_id = %s AND revoked_at IS NULL""",
        (why, user_id),
    )
    return max(cur.rowcount, 0)


# --- login throttling -------------------------------------------------------------------------

#: Which failures a throttle row counts: one name from one address, one address over every
#: name, one name over every address (``0025_login_throttle_by_address.sql``).
ThrottleScope = Literal["account_client", "client", "account"]


@dataclass(frozen=True)
class ThrottleKey:
    """A throttle row: ``username`` is "" for a client row, ``client`` "" for an account row."""

    scope: ThrottleScope
    username: str
    client: str

    def as_params(self) -> dict[str, str]:
        return {"s": self.scope, "u": self.username, "c": self.client}


@dataclass(frozen=True)
class Throttle:
    """The state of a throttle row: failures that still count, its lock, and (of a name from
    an address) the last successful login."""

    key: ThrottleKey
    failures: int
    locked_until: datetime | None
    last_success_at: datetime | None
    now: datetime

    @property
    def locked_for_s(self) -> float:
        """Seconds the row stays locked (0 when not locked)."""
        if self.locked_until is None:
            return 0.0
        return max(0.0, (self.locked_until - self.now).total_seconds())

    def known_within(self, period: timedelta) -> bool:
        """True if the name logged in from the address within ``period``."""
        return self.last_success_at is not None and self.now - self.last_success_at < period


_KEY = "scope = %(s)s AND username = %(u)s AND client = %(c)s"
#: Failures older than the window count no more.
_FAILURES_NOW = "CASE WHEN last_failed_at < now() - %(w)s THEN 0 ELSE failures END"
_STATE = f"coalesce({_FAILURES_NOW}, 0), locked_until, last_success_at, now()"


def _throttle(key: ThrottleKey, row: TupleRow | None) -> Throttle:
    assert row is not None
    return Throttle(key, int(row[0]), row[1], row[2], row[3])


async def take_throttle(conn: _AConn, key: ThrottleKey, window: timedelta) -> Throttle:
    """Take the throttle row ``key`` (made if missing) for this transaction: logins that take
    the same row run one at a time, so parallel guesses cannot race past its lock. Failures
    older than ``window`` do not count (as in every read; :func:`record_failure` starts them
    again)."""
    cur = await conn.execute(
        f"""INSERT INTO login_throttle AS t (scope, username, client)
            VALUES (%(s)s, %(u)s, %(c)s)
            ON CONFLICT (scope, username, client) DO UPDATE SET failures = t.failures
            RETURNING {_STATE}""",
        {**key.as_params(), "w": window},
    )
    return _throttle(key, await cur.fetchone())


async def read_throttle(conn: _AConn, key: ThrottleKey, window: timedelta) -> Throttle:
    """The state of the throttle row ``key`` without taking it (no row: nothing counted)."""
    cur = await conn.execute(
        f"SELECT {_STATE} FROM (VALUES (1)) AS one (x) LEFT JOIN login_throttle ON {_KEY}",
        {**key.as_params(), "w": window},
    )
    return _throttle(key, await cur.fetchone())


async def record_failure(conn: _AConn, key: ThrottleKey, window: timedelta) -> int:
    """Count a failed login in the row ``key`` (made if missing); return its failures."""
    cur = await conn.execute(
        """INSERT INTO login_throttle AS t
               (scope, username, client, failures, first_failed_at, last_failed_at)
           VALUES (%(s)s, %(u)s, %(c)s, 1, now(), now())
           ON CONFLICT (scope, username, client) DO UPDATE SET
               failures = CASE WHEN t.last_failed_at < now() - %(w)s THEN 1
                               ELSE t.failures + 1 END,
               first_failed_at = CASE WHEN t.failures = 0 OR t.last_failed_at < now() - %(w)s
                                      THEN now() ELSE t.first_failed_at END,
               last_failed_at = now()
           RETURNING failures""",
        {**key.as_params(), "w": window},
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def lock_for(conn: _AConn, key: ThrottleKey, seconds: float) -> None:
    """Lock the throttle row ``key`` for ``seconds`` from now."""
    await conn.execute(
        f"UPDATE login_throttle SET locked_until = now() + make_interval(secs => %(l)s) "
        f"WHERE {_KEY}",
        {**key.as_params(), "l": seconds},
    )


async def record_success(
    conn: _AConn, account: ThrottleKey, pair: ThrottleKey, *, known: bool
) -> None:
    """After a successful login: forget the failures of the name unless it is locked (a lock
    over every address runs out on its own: a login where the name is known must not hand a
    guesser spread over many addresses a fresh count), and those of the name from the address,
    which is remembered as known there (``last_success_at``) if ``known``."""
    await conn.execute(
        "UPDATE login_throttle SET failures = 0, first_failed_at = NULL, locked_until = NULL "
        f"WHERE {_KEY} AND (locked_until IS NULL OR locked_until <= now())",
        account.as_params(),
    )
    await conn.execute(
        """INSERT INTO login_throttle AS t (scope, username, client, last_success_at)
           VALUES (%(s)s, %(u)s, %(c)s, CASE WHEN %(k)s THEN now() END)
           ON CONFLICT (scope, username, client) DO UPDATE
               SET failures = 0, first_failed_at = NULL, locked_until = NULL,
                   last_success_at = CASE WHEN %(k)s THEN now() ELSE t.last_success_at END""",
        {**pair.as_params(), "k": known},
    )


async def purge_throttle(conn: _AConn) -> int:
    """Delete the throttle rows that no longer count, with the addresses they hold; return how
    many (see :data:`stayactive.db.PURGE_LOGIN_THROTTLE`)."""
    cur = await conn.execute(
        db.PURGE_LOGIN_THROTTLE, {"w": db.LOGIN_FAILURE_WINDOW, "k": db.LOGIN_KNOWN_CLIENT}
    )
    return max(cur.rowcount, 0)


# --- API keys ---------------------------------------------------------------------------------


def _sha256(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def new_api_key() -> tuple[str, str, bytes]:
    """A fresh integrator key: its id, the key as shown once, and what is stored of it (the
    SHA-256 of its secret) in ``api_keys.secret_sha256``."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return key_id, f"{API_KEY_PREFIX}{key_id}_{secret}", _sha256(secret)


async def create_api_key(
    conn: _AConn, tenant_id: str, name: str, created_by: str
) -> tuple[str, str]:
    """Create an integrator key; return (key_id, the key). The key is shown once, never stored."""
    key_id, key, secret_sha256 = new_api_key()
    await conn.execute(
        """INSERT INTO api_keys (key_id, tenant_id, name, secret_sha256, created_by)
           VALUES (%s, %s, %s, %s, %s)""",
        (key_id, tenant_id, name, secret_sha256, created_by),
    )
    return key_id, key


async def api_key_principal(conn: _AConn, key: str) -> Principal | None:
    """The principal of a live API key, or None (malformed, unknown, revoked)."""
    if not key.startswith(API_KEY_PREFIX):
        return None
    key_id, sep, secret = key[len(API_KEY_PREFIX) :].partition("_")
    if not sep or len(key_id) != 12 or not secret:
        return None
    # Before the tenant is known: through the owner's-rights lookup (see login_account).
    cur = await conn.execute("SELECT * FROM auth_api_key(%s)", (key_id,))
    row = await cur.fetchone()
    if row is None or not hmac.compare_digest(bytes(row[0]), _sha256(secret)):
        return None
    await set_tenant(conn, str(row[1]))
    await conn.execute("UPDATE api_keys SET last_used_at = now() WHERE key_id = %s", (key_id,))
    return Principal(
        actor=f"apikey:{row[4]}",
        tenant_id=str(row[1]),
        time_zone=str(row[2]),
        role=cast(Role, row[3]),
        user_id=None,
        ward_ids=frozenset(),
        key_id=key_id,
    )


async def list_api_keys(conn: _AConn, tenant_id: str) -> list[ApiKeyRow]:
    """The tenant's keys, newest first."""
    cur = await conn.execute(
        """SELECT key_id, tenant_id, name, role, created_at, created_by, last_used_at, revoked_at
           FROM api_keys WHERE tenant_id = %s ORDER BY created_at DESC""",
        (tenant_id,),
    )
    return [
        ApiKeyRow(str(r[0]), str(r[1]), str(r[2]), cast(Role, r[3]), r[4], str(r[5]), r[6], r[7])
        for r in await cur.fetchall()
    ]


async def revoke_api_key(conn: _AConn, tenant_id: str, key_id: str) -> bool:
    """Revoke a key of the tenant; False if there is no such live key."""
    cur = await conn.execute(
        """UPDATE api_keys SET revoked_at = now()
           WHERE tenant_id = %s AND key_id = %s AND revoked_at IS NULL""",
        (tenant_id, key_id),
    )
    return cur.rowcount == 1
