"""``stayactive users add | passwd | disable | enable | list`` and ``stayactive apikeys …``."""

from __future__ import annotations

import asyncio
import sys

import psycopg
import typer
from psycopg.rows import TupleRow

from stayactive import audit, auth, db, registry
from stayactive.cli._common import named, no_national_id, os_user, with_async_conn
from stayactive.errors import ConfigurationError, ConstraintViolation
from stayactive.settings import get_settings

app = typer.Typer(help="People who log in to the API and the dashboard.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys of integrators.", no_args_is_help=True)

_AConn = psycopg.AsyncConnection[TupleRow]


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        try:
            password = sys.stdin.readline().rstrip("\r\n")
        except UnicodeDecodeError as exc:
            raise ConfigurationError("the password on stdin is not UTF-8 text") from exc
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        auth.check_password_rules(password)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from exc
    return password


def _require_tenant(tenant: str) -> None:
    with db.connect(get_settings()) as conn:
        registry.require_tenant(conn, tenant)


async def _audit(
    conn: _AConn, tenant: str, action: str, username: str, detail: dict[str, object]
) -> None:
    await audit.record_many_async(
        conn,
        tenant=tenant,
        actor=f"cli:{os_user()}",
        action=action,
        subject_kind="user",
        subject_ids=[username],
        purpose="administration",
        detail=detail,
    )


_WARDS_NEEDED = "care staff need at least one --ward"
_ROLE_HELP = "admin, care_staff or finance (integrators: `stayactive apikeys add`)."


def _checked_role(role: str) -> auth.Role:
    """``role``, or a usage error unless it is a role a password user may have."""
    if role not in auth.ROLES:
        raise typer.BadParameter(f"--role {role!r}: use one of {', '.join(auth.ROLES)}")
    try:
        auth.check_user_role(role)
    except auth.IntegratorNeedsApiKey as exc:
        raise typer.BadParameter(str(exc)) from exc
    return role


@app.command("add")
def add(
    username: str = typer.Argument(..., help="Login name (lower case).", callback=no_national_id),
    tenant: str = typer.Option(..., "--tenant", help="Tenant id."),
    role: str = typer.Option(..., "--role", help=_ROLE_HELP),
    ward: list[str] = typer.Option(
        [], "--ward", help="A ward in the user's scope (id, name or site/ward); repeat."
    ),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
) -> None:
    """Create a user. Care staff need at least one --ward."""
    checked = _checked_role(role)
    try:
        auth.check_scope(role, len(ward))
    except auth.WardsNeeded as exc:
        raise typer.BadParameter(_WARDS_NEEDED) from exc
    password_hash = auth.hash_password(_read_password(password_stdin))
    name = username.strip().lower()

    async def work(conn: _AConn) -> int:
        tenant_ok = await (
            await conn.execute("SELECT 1 FROM tenants WHERE tenant_id = %s", (tenant,))
        ).fetchone()
        if tenant_ok is None:
            raise ConfigurationError(f"unknown tenant {tenant!r}")
        try:
            ward_ids = await auth.resolve_wards(conn, tenant, ward)
        except LookupError as exc:
            raise ConfigurationError(str(exc)) from exc
        try:
            with db.translated():
                user_id = await auth.add_user(conn, tenant, name, checked, password_hash, ward_ids)
        except ConstraintViolation as exc:
            if exc.kind == "unique":
                raise ConfigurationError(f"username {name!r} is taken") from exc
            raise ConfigurationError(
                f"username {name!r}: 2-128 of a-z, 0-9, '.', '_', '@', '-', starting with a "
                "letter or digit"
            ) from exc
        await _audit(conn, tenant, "user.create", name, {"role": role, "wards": ward_ids})
        return user_id

    user_id = asyncio.run(with_async_conn(get_settings(), work))
    typer.echo(f"created user {name!r} (id {user_id}, {role}) in {tenant}")


def _change(username: str, action: str, change: str) -> None:
    name = username.strip().lower()

    async def work(conn: _AConn) -> None:
        user_id, tenant, _ = await _user(conn, name)
        if action == "passwd":
            await auth.set_password(conn, user_id, change)
        else:
            await auth.set_active(conn, user_id, action == "enable")
        await _audit(conn, tenant, f"user.{action}", name, {})

    asyncio.run(with_async_conn(get_settings(), work))


@app.command()
def passwd(
    username: str = typer.Argument(...),
    password_stdin: bool = typer.Option(False, "--password-stdin"),
) -> None:
    """Set a new password; the user's sessions end."""
    password_hash = auth.hash_password(_read_password(password_stdin))
    _change(username, "passwd", password_hash)
    typer.echo(f"password of {username!r} changed; its sessions ended")


@app.command()
def disable(username: str = typer.Argument(...)) -> None:
    """Disable a user: every session ends at once, logins are refused."""
    _change(username, "disable", "")
    typer.echo(f"user {username!r} disabled")


@app.command()
def enable(username: str = typer.Argument(...)) -> None:
    """Enable a disabled user again."""
    _change(username, "enable", "")
    typer.echo(f"user {username!r} enabled")


@app.command("set-role")
def set_role(
    username: str = typer.Argument(...),
    role: str = typer.Option(..., "--role", help=_ROLE_HELP),
) -> None:
    """Change a user's role (audited; effective on the user's next request)."""
    checked = _checked_role(role)
    name = username.strip().lower()

    async def work(conn: _AConn) -> str:
        user_id, tenant, _ = await _user(conn, name)
        try:
            old = await auth.set_role(conn, user_id, checked)
        except auth.WardsNeeded as exc:
            raise ConfigurationError(
                f"{exc}: give {name!r} a ward first (`stayactive users set-wards {name} --ward …`)"
            ) from exc
        await _audit(conn, tenant, "user.set-role", name, {"role": role, "previous": old})
        return str(old)

    old = asyncio.run(with_async_conn(get_settings(), work))
    typer.echo(f"{name!r}: role {old} -> {role}")


@app.command("set-wards")
def set_wards(
    username: str = typer.Argument(...),
    ward: list[str] = typer.Option(
        [], "--ward", help="A ward in the user's scope (id, name or site/ward); repeat."
    ),
) -> None:
    """Replace the wards in a user's scope (audited). Care staff keep at least one --ward;
    `users disable` takes a user's access away."""
    name = username.strip().lower()

    async def work(conn: _AConn) -> list[int]:
        user_id, tenant, _ = await _user(conn, name)
        try:
            ward_ids = await auth.resolve_wards(conn, tenant, ward)
        except LookupError as exc:
            raise ConfigurationError(str(exc)) from exc
        try:
            await auth.set_wards(conn, tenant, user_id, ward_ids)
        except auth.WardsNeeded as exc:
            raise ConfigurationError(
                f"{_WARDS_NEEDED}; to take {name!r}'s access away, run "
                f"`stayactive users disable {name}`"
            ) from exc
        await _audit(conn, tenant, "user.set-wards", name, {"ward_ids": ward_ids})
        return ward_ids

    ward_ids = asyncio.run(with_async_conn(get_settings(), work))
    typer.echo(f"{name!r}: wards {', '.join(map(str, ward_ids)) or 'none'}")


@app.command()
def expire(
    days: int = typer.Option(
        auth.DEFAULT_UNUSED_DAYS, "--days", min=1, help="Unused for this many days."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only list who would be closed."),
) -> None:
    """Disable users and revoke API keys nobody has used for --days days (audited)."""

    async def work(conn: _AConn) -> auth.ExpiryReport:
        return await auth.expire_unused(conn, days=days, actor=f"cli:{os_user()}", dry_run=dry_run)

    report = asyncio.run(with_async_conn(get_settings(), work))
    verb = "would be" if dry_run else "were"
    for tenant, username, last in report.users:
        when = last.isoformat(timespec="minutes") if last else "never"
        typer.echo(f"user {username} ({tenant}), last login {when}")
    for tenant, key_id, name in report.api_keys:
        typer.echo(f"API key {key_id} {name!r} ({tenant})")
    typer.echo(
        f"{len(report.users)} users and {len(report.api_keys)} API keys unused since "
        f"{report.cutoff:%Y-%m-%d} {verb} closed"
    )


async def _user(conn: _AConn, name: str) -> tuple[int, str, str]:
    """The user's id, tenant and role."""
    cur = await conn.execute(
        "SELECT user_id, tenant_id, role FROM users WHERE username = %s", (name,)
    )
    row = await cur.fetchone()
    if row is None:
        raise ConfigurationError(f"no user {name!r}")
    return int(row[0]), str(row[1]), str(row[2])


@app.command("list")
def list_(tenant: str | None = typer.Option(None, "--tenant", help="Only this tenant.")) -> None:
    """Users with role, wards, state and last login."""
    if tenant is not None:
        _require_tenant(tenant)
    rows = asyncio.run(with_async_conn(get_settings(), lambda c: auth.list_users(c, tenant)))
    for u in rows:
        last = u.last_login_at.isoformat(timespec="minutes") if u.last_login_at else "never"
        wards = ",".join(map(str, u.ward_ids)) or "-"
        state = "active" if u.active else "DISABLED"
        typer.echo(
            f"{u.tenant_id:<16} {u.username:<28} {u.role:<11} wards {wards:<12} {state:<8} "
            f"last login {last}"
        )


@keys_app.command("add")
def add_key(
    tenant: str = typer.Option(..., "--tenant"),
    name: str = typer.Option(
        ...,
        "--name",
        help="What the key is for, e.g. 'care-record sync' (at most 100 characters).",
        callback=named,
    ),
) -> None:
    """Create an integrator key (imports only); prints it once."""

    async def work(conn: _AConn) -> tuple[str, str]:
        try:
            with db.translated():
                return await auth.create_api_key(conn, tenant, name, f"cli:{os_user()}")
        except ConstraintViolation as exc:
            if exc.kind == "foreign_key":
                raise ConfigurationError(f"unknown tenant {tenant!r}") from exc
            if exc.kind == "check":
                raise ConfigurationError(
                    f"a key name has at most 100 characters, not {len(name)}"
                ) from exc
            raise ConfigurationError(f"{tenant} has a key named {name!r} already") from exc

    key_id, key = asyncio.run(with_async_conn(get_settings(), work))
    typer.echo(f"key {key_id} for {tenant}; send it as the X-API-Key header (shown only now):")
    typer.echo(key)


@keys_app.command("list")
def list_keys(tenant: str = typer.Option(..., "--tenant")) -> None:
    """The tenant's keys (never the secrets)."""
    _require_tenant(tenant)
    rows = asyncio.run(with_async_conn(get_settings(), lambda c: auth.list_api_keys(c, tenant)))
    for k in rows:
        state = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "active"
        typer.echo(f"{k.key_id}  {k.role:<10} {state:<18} {k.name}")


@keys_app.command("revoke")
def revoke_key(
    tenant: str = typer.Option(..., "--tenant"), key_id: str = typer.Argument(...)
) -> None:
    """Revoke a key at once."""
    ok = asyncio.run(
        with_async_conn(get_settings(), lambda c: auth.revoke_api_key(c, tenant, key_id))
    )
    if not ok:
        raise ConfigurationError(f"{tenant} has no live key {key_id!r}")
    typer.echo(f"key {key_id} revoked")
