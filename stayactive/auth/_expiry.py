"""Accounts nobody uses are closed: ``stayactive users expire`` (docs/privacy.md).

A user whose last login (or, never logged in, whose creation) is more than ``days`` ago is
disabled, and every session of theirs ends; an integrator key not used for as long is revoked.
Each one gets an audit row, so the review can see who was closed and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import psycopg
from psycopg.rows import TupleRow

from stayactive import audit
from stayactive.auth._store import revoke_user_sessions

_AConn = psycopg.AsyncConnection[TupleRow]

#: Normen's rule of thumb and ours: an account unused this long is closed.
DEFAULT_UNUSED_DAYS = 90


@dataclass
class ExpiryReport:
    """What one run closed: (tenant, username, last used) and (tenant, key id, name)."""

    cutoff: datetime
    users: list[tuple[str, str, datetime | None]] = field(default_factory=list)
    api_keys: list[tuple[str, str, str]] = field(default_factory=list)


async def expire_unused(
    conn: _AConn, *, days: int = DEFAULT_UNUSED_DAYS, actor: str, dry_run: bool = False
) -> ExpiryReport:
    """Disable users and revoke API keys unused for ``days`` days (in the caller's
    transaction); with ``dry_run`` only say which."""
    cur = await conn.execute("SELECT now() - %s", (timedelta(days=days),))
    row = await cur.fetchone()
    assert row is not None
    report = ExpiryReport(cutoff=row[0])
    cur = await conn.execute(
        """SELECT user_id, tenant_id, username, last_login_at FROM users
           WHERE active AND coalesce(last_login_at, created_at) < %s
           ORDER BY tenant_id, username""",
        (report.cutoff,),
    )
    for user_id, tenant, username, last in await cur.fetchall():
        report.users.append((str(tenant), str(username), last))
        if dry_run:
            continue
        await conn.execute(
            "UPDATE users SET active = false, disabled_reason = %s WHERE user_id = %s",
            (f"unused for {days} days", user_id),
        )
        ended = await revoke_user_sessions(conn, int(user_id), f"unused for {days} days")
        await audit.record_many_async(
            conn,
            tenant=str(tenant),
            actor=actor,
            action="user.expire",
            subject_kind="user",
            subject_ids=[str(username)],
            purpose="administration",
            detail={"unused_days": days, "last_login_at": last.isoformat() if last else None,
                    "sessions_ended": ended},
        )  # fmt: skip
    cur = await conn.execute(
        """SELECT key_id, tenant_id, name FROM api_keys
           WHERE revoked_at IS NULL AND coalesce(last_used_at, created_at) < %s
           ORDER BY tenant_id, name""",
        (report.cutoff,),
    )
    for key_id, tenant, name in await cur.fetchall():
        report.api_keys.append((str(tenant), str(key_id), str(name)))
        if dry_run:
            continue
        await conn.execute("UPDATE api_keys SET revoked_at = now() WHERE key_id = %s", (key_id,))
        await audit.record_many_async(
            conn,
            tenant=str(tenant),
            actor=actor,
            action="api_key.expire",
            subject_kind="api_key",
            subject_ids=[str(key_id)],
            purpose="administration",
            detail={"unused_days": days, "name": str(name)},
        )
    return report
