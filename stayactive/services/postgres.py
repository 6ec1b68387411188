"""The project-owned PostgreSQL cluster with TimescaleDB, on loopback.

The cluster lives in the data directory (not the distribution's default cluster) and listens on
127.0.0.1 only. As root it runs as the system user ``postgres``, since PostgreSQL refuses to run as
root. The superuser ``stayactive`` logs in over TCP with a generated password kept in the secrets
folder; the Unix socket sits in a folder only the server's user can enter.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import psycopg
from psycopg import sql

from stayactive import db
from stayactive.errors import ServiceError, StayActiveError
from stayactive.paths import DB_PASSWORD, ServicePaths, db_role_password_name
from stayactive.services import timescaledb
from stayactive.services._run import give_to, run
from stayactive.settings import SERVICE_ROLES, Settings

log = logging.getLogger(__name__)

BIN = f"/usr/lib/postgresql/{timescaledb.PG_MAJOR}/bin"
SUPERUSER = "stayactive"


@dataclass(frozen=True)
class PostgresStatus:
    """What ``services status`` shows of the database."""

    running: bool
    port: int
    version: str | None = None
    timescaledb_version: str | None = None
    timescaledb_license: str | None = None
    error: str | None = None


def _server_user() -> str | None:
    """The system user the server runs as (``postgres`` when we are root, else ourselves)."""
    return "postgres" if os.geteuid() == 0 else None


def _chown_to_server_user(*paths: os.PathLike[str]) -> None:
    give_to(_server_user(), *paths)


#: Kept out of the server log, which must hold no personal data (docs/privacy.md): a
#: constraint error's DETAIL ("Failing row contains (…)") and a slow statement's bind values.
#: The cluster's stayactive.conf has them; one made by an earlier version gets each it does not
#: set at the next `services up` (an operator's own value is left alone).
PRIVATE_LOG_SETTINGS: Final = {"log_error_verbosity": "terse", "log_parameter_max_length": "0"}


def ensure_cluster(paths: ServicePaths, settings: Settings) -> None:
    """Install what is missing and create the cluster once; later calls add only the
    :data:`PRIVATE_LOG_SETTINGS` an older cluster's configuration lacks."""
    timescaledb.ensure_installed(paths.build_dir)
    if (paths.pg_data / "PG_VERSION").exists():
        check_port(paths.pg_data / "stayactive.conf", settings.pg_port)
        if add_missing_settings(paths.pg_data / "stayactive.conf") and is_running(paths):
            run(
                [f"{BIN}/pg_ctl", "reload", "-D", str(paths.pg_data)],
                what="reload PostgreSQL's configuration",
                as_user=_server_user(),
            )
        return
    log.info("creating the PostgreSQL cluster in %s", paths.pg_data)
    for folder in (paths.pg_home, paths.pg_socket_dir):
        folder.mkdir(parents=True, exist_ok=True)
    # Remains of an initdb that stopped half-way would make the next one fail.
    shutil.rmtree(paths.pg_data, ignore_errors=True)
    paths.pg_data.mkdir(mode=0o700)
    os.chmod(paths.pg_socket_dir, 0o700)
    _chown_to_server_user(paths.pg_home, paths.pg_data, paths.pg_socket_dir)
    password = paths.secret(DB_PASSWORD, create=True)
    pwfile = paths.pg_home / ".initdb-password"
    pwfile.write_text(f"{password}\n")
    _chown_to_server_user(pwfile)
    try:
        run(
            [
                f"{BIN}/initdb", "-D", str(paths.pg_data), "-U", SUPERUSER,
                f"--pwfile={pwfile}", "--auth-local=trust", "--auth-host=scram-sha-256",
                "--encoding=UTF8", "--locale=C.UTF-8",
            ],
            what="initialise the PostgreSQL cluster",
            as_user=_server_user(),
        )  # fmt: skip
    finally:
        pwfile.unlink(missing_ok=True)
    conf = paths.pg_data / "postgresql.conf"
    with conf.open("a") as fh:
        fh.write("\ninclude = 'stayactive.conf'\n")
    (paths.pg_data / "stayactive.conf").write_text(_server_config(paths, settings))
    _chown_to_server_user(paths.pg_data / "stayactive.conf")


def _server_config(paths: ServicePaths, settings: Settings) -> str:
    return f"""# Written once by `stayactive services up`; edit it, then restart the cluster.
listen_addresses = '127.0.0.1'
port = {settings.pg_port}
unix_socket_directories = '{paths.pg_socket_dir}'
shared_preload_libraries = 'timescaledb'
timescaledb.telemetry_level = off
max_connections = 100
shared_buffers = 512MB
work_mem = 32MB
maintenance_work_mem = 256MB
# Durable commits: ingest acknowledges a device's message only after the commit is on disk.
synchronous_commit = on
wal_level = replica
max_wal_senders = 4
log_min_duration_statement = 2000
log_line_prefix = '%m [%p] %q%u@%d '
""" + "".join(f"{key} = {value}\n" for key, value in PRIVATE_LOG_SETTINGS.items())


def add_missing_settings(conf: Path) -> list[str]:
    """Append to ``conf`` each of :data:`PRIVATE_LOG_SETTINGS` it does not set; return their
    names. They take effect when the cluster next starts (``services up`` starts it)."""
    text = conf.read_text() if conf.exists() else ""
    missing = [
        key
        for key in PRIVATE_LOG_SETTINGS
        # PostgreSQL's own syntax: the '=' is optional and names ignore case.
        if not re.search(rf"^\s*{key}(?:\s*=|\s+\S)", text, flags=re.MULTILINE | re.IGNORECASE)
    ]
    if missing:
        added = "".join(f"{key} = {PRIVATE_LOG_SETTINGS[key]}\n" for key in missing)
        separator = "\n" if text and not text.endswith("\n") else ""
        with conf.open("a") as fh:
            fh.write(
                f"{separator}# Added by `stayactive services up`: no row contents in the log.\n"
            )
            fh.write(added)
        log.info("added %s to %s", ", ".join(missing), conf)
    return missing


def check_port(conf: Path, port: int) -> None:
    """ServiceError when the cluster's ``conf`` listens on another port than the settings name
    (``STAYACTIVE_PG_PORT``): the file is written once, so a port changed later in ``.env``
    would otherwise end, 30 s on, in "does not accept connections" and nothing more."""
    text = conf.read_text() if conf.exists() else ""
    found = re.findall(
        r"^\s*port(?:\s*=\s*|\s+)'?(\d+)'?", text, flags=re.MULTILINE | re.IGNORECASE
    )
    if found and int(found[-1]) != port:
        raise ServiceError(
            f"the PostgreSQL cluster listens on port {found[-1]} ({conf}) but STAYACTIVE_PG_PORT "
            f"is {port}: set STAYACTIVE_PG_PORT={found[-1]}, or change port in that file and "
            "run `stayactive services down` and `stayactive services up`"
        )


def postmaster_pid(paths: ServicePaths) -> int | None:
    """The process id of the cluster's postmaster from its ``postmaster.pid`` (None when the
    file is absent or unreadable to this user); its backends are its children."""
    try:
        return int((paths.pg_data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def is_running(paths: ServicePaths) -> bool:
    """True when the cluster's postmaster is alive."""
    if not (paths.pg_data / "PG_VERSION").exists():
        return False
    proc = run(
        [f"{BIN}/pg_ctl", "status", "-D", str(paths.pg_data)],
        what="ask pg_ctl for the cluster's status",
        as_user=_server_user(),
        check=False,
    )
    return proc.returncode == 0


def start(paths: ServicePaths, settings: Settings) -> None:
    """Start the cluster if it is not running, and create the application database."""
    if not is_running(paths):
        log.info("starting PostgreSQL on 127.0.0.1:%d", settings.pg_port)
        paths.pg_log.touch(exist_ok=True)
        os.chmod(paths.pg_log, 0o640)  # not world-readable: statements and user names
        _chown_to_server_user(paths.pg_log)
        run(
            [
                f"{BIN}/pg_ctl", "start", "-D", str(paths.pg_data), "-l", str(paths.pg_log),
                "-w", "-t", "60",
            ],
            what=f"start PostgreSQL (log: {paths.pg_log})",
            as_user=_server_user(),
        )  # fmt: skip
    ensure_database(settings, settings.database_name)


def ensure_service_roles(paths: ServicePaths, settings: Settings) -> list[str]:
    """Give each service its own login role with a password of its own (docs/privacy.md).

    The password is generated once into the secrets folder (0600); the server is sent only its
    SCRAM verifier, so the password itself appears in no statement or server log. The
    migrations create the same roles without a password where they do not exist yet and grant
    them their privileges per schema; this only lets them log in. Returns the roles set up.
    """
    done = []
    with psycopg.connect(settings.dsn("postgres"), autocommit=True) as conn:
        for role in SERVICE_ROLES:
            user = settings.role_user(role)
            password = paths.secret(db_role_password_name(role), create=True)
            assert password is not None
            verifier = conn.pgconn.encrypt_password(
                password.encode(), user.encode(), b"scram-sha-256"
            ).decode()
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone()
            # Ingest bypasses row-level security (COPY needs it); see migration 0014.
            rls = "BYPASSRLS" if role == "ingest" else "NOBYPASSRLS"
            create = (
                f"CREATE ROLE {{}} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE {rls} PASSWORD {{}}"
            )
            alter = f"ALTER ROLE {{}} LOGIN {rls} PASSWORD {{}}"
            try:
                conn.execute(
                    sql.SQL(alter if exists else create).format(
                        sql.Identifier(user), sql.Literal(verifier)
                    )
                )
            except psycopg.errors.DuplicateObject:
                # A migration created it between the look and the CREATE: set the password.
                conn.execute(sql.SQL(alter).format(sql.Identifier(user), sql.Literal(verifier)))
            done.append(user)
    return done


def stop(paths: ServicePaths) -> None:
    """Stop the cluster (fast shutdown: open transactions roll back, nothing committed is lost)."""
    if not is_running(paths):
        return
    run(
        [f"{BIN}/pg_ctl", "stop", "-D", str(paths.pg_data), "-m", "fast", "-w", "-t", "60"],
        what="stop PostgreSQL",
        as_user=_server_user(),
    )


def restart(paths: ServicePaths) -> None:
    """Restart the running cluster (fast: sessions are ended, open transactions roll back)."""
    run(
        [
            f"{BIN}/pg_ctl", "restart", "-D", str(paths.pg_data), "-m", "fast", "-w",
            "-l", str(paths.pg_log),
        ],
        what="restart PostgreSQL",
        as_user=_server_user(),
    )  # fmt: skip


def ensure_database(settings: Settings, name: str) -> None:
    """Create database ``name`` with the TimescaleDB extension unless it exists (waits up to
    30 s for the server)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(settings.dsn("postgres"), autocommit=True) as conn:
                exists = conn.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
                ).fetchone()
                if not exists:
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            with psycopg.connect(settings.dsn(name), autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb SCHEMA public")
            return
        except psycopg.Error as exc:
            if not db.is_transient(exc):
                raise
            if time.monotonic() > deadline:
                raise ServiceError(f"PostgreSQL does not accept connections: {exc}") from exc
            time.sleep(0.5)


def status(settings: Settings) -> PostgresStatus:
    """Connect and read the server's and TimescaleDB's versions and licence."""
    port = settings.pg_port if settings.uses_local_database else 0
    try:
        with db.translated(), psycopg.connect(settings.dsn(), connect_timeout=3) as conn:
            version = conn.execute("SHOW server_version").fetchone()
            row = conn.execute(
                "SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb'"
            ).fetchone()
            licence = conn.execute("SELECT current_setting('timescaledb.license', true)").fetchone()
            port_row = conn.execute("SHOW port").fetchone()
    except StayActiveError as exc:
        return PostgresStatus(running=False, port=port, error=str(exc).strip())
    return PostgresStatus(
        running=True,
        port=int(port_row[0]) if port_row else port,
        version=version[0] if version else None,
        timescaledb_version=row[0] if row else None,
        timescaledb_license=licence[0] if licence else None,
    )
