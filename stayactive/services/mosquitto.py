"""The project-owned Mosquitto broker on loopback: config, accounts, ACLs, start and stop.

No anonymous access. Every device logs in with its own username (its device id) and password and
may publish only below ``stayactive/v1/<its id>/`` and read only its own ``config`` topic; the
``ingest`` service account reads everything and writes config downlinks. Persistence is on so
queued QoS 1 messages survive a broker restart.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import logging
import os
import re
import resource
import secrets
import signal
import socket
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from stayactive.errors import ConfigurationError, ServiceError
from stayactive.mqtt import check_login
from stayactive.paths import MQTT_INGEST_PASSWORD, ServicePaths
from stayactive.registry import DEVICE_ID_PATTERN
from stayactive.services._run import apt_install, give_to, run
from stayactive.settings import Settings

log = logging.getLogger(__name__)

INGEST_ACCOUNT = "ingest"
# Mosquitto 2's password-file format: PBKDF2-SHA512, "$7$<iterations>$<salt>$<hash>" (base64).
_PBKDF2_ITERATIONS = 101
_ACCOUNT_NAME = re.compile(rf"^{DEVICE_ID_PATTERN}$")  # a device id, or a service account
# The broker passes packets up to this size so that ingest sees an oversized payload and can
# reject it with a reason (the protocol's limit, 256 KiB, is enforced by ingest).
MAX_PACKET_BYTES = 1024 * 1024

ACL = """# Written by `stayactive services up`. Patterns apply to every account; %u is the username.
# Service account of the ingest workers: reads all device channels, writes config downlinks.
user ingest
topic read stayactive/v1/#
topic write stayactive/v1/+/config

# A device (username = device id) publishes only under its own prefix and reads only its config.
pattern write stayactive/v1/%u/telemetry
pattern write stayactive/v1/%u/events
pattern write stayactive/v1/%u/status
pattern read stayactive/v1/%u/config
"""


@dataclass(frozen=True)
class MosquittoStatus:
    """What ``services status`` shows of the broker."""

    running: bool
    port: int
    version: str | None = None
    error: str | None = None


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """Hash ``password`` in the format of Mosquitto 2's password file."""
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, _PBKDF2_ITERATIONS)
    b64 = base64.b64encode
    return f"$7${_PBKDF2_ITERATIONS}${b64(salt).decode()}${b64(digest).decode()}"


def _server_user() -> str | None:
    return "mosquitto" if os.geteuid() == 0 else None


def _give_to_broker(*paths: Path) -> None:
    give_to(_server_user(), *paths)


def ensure_config(paths: ServicePaths, settings: Settings) -> None:
    """Install Mosquitto if missing and (re)write its config and ACL; create the ingest account."""
    apt_install(["mosquitto", "mosquitto-clients"])
    paths.mqtt_home.mkdir(parents=True, exist_ok=True)
    paths.mqtt_persistence.mkdir(exist_ok=True)
    paths.mqtt_conf.write_text(_broker_config(paths, settings))
    paths.mqtt_acl.write_text(ACL)
    paths.mqtt_passwd.touch(exist_ok=True)
    os.chmod(paths.mqtt_passwd, 0o600)
    paths.mqtt_log.touch(exist_ok=True)
    _give_to_broker(
        paths.mqtt_home, paths.mqtt_persistence, paths.mqtt_conf, paths.mqtt_acl,
        paths.mqtt_passwd, paths.mqtt_log,
    )  # fmt: skip
    ingest_password = paths.secret(MQTT_INGEST_PASSWORD, create=True)
    assert ingest_password is not None
    if not _password_matches(paths, INGEST_ACCOUNT, ingest_password):
        set_accounts(paths, {INGEST_ACCOUNT: ingest_password})


def _broker_config(paths: ServicePaths, settings: Settings) -> str:
    return f"""# Written by `stayactive services up`; it is rewritten on every `up`.
per_listener_settings false
allow_anonymous false
listener {settings.mqtt_port} 127.0.0.1
password_file {paths.mqtt_passwd}
acl_file {paths.mqtt_acl}
persistence true
persistence_location {paths.mqtt_persistence}/
# Save the in-memory state (queued QoS 1 messages of persistent sessions) every 10 s and on exit.
autosave_interval 10
# The backlog of a persistent ingest session must not be dropped while ingest is down.
max_queued_messages 1000000
max_queued_bytes 2000000000
max_packet_size {MAX_PACKET_BYTES}
log_dest file {paths.mqtt_log}
log_type error
log_type warning
log_type notice
log_type information
connection_messages true
log_timestamp_format %Y-%m-%dT%H:%M:%S
pid_file {paths.mqtt_pid}
"""


@contextlib.contextmanager
def _locked_passwd(paths: ServicePaths) -> Iterator[dict[str, str]]:
    """The password file as {user: hash}, locked against concurrent writers; saved on exit if
    it was changed (``services up`` only reads it)."""
    lock_path = paths.mqtt_home / ".passwd.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        accounts: dict[str, str] = {}
        if paths.mqtt_passwd.exists():
            for line in paths.mqtt_passwd.read_text().splitlines():
                if ":" in line:
                    user, hashed = line.split(":", 1)
                    accounts[user] = hashed
        before = dict(accounts)
        yield accounts
        if accounts == before:
            return
        tmp = paths.mqtt_passwd.with_suffix(".tmp")
        tmp.write_text("".join(f"{u}:{h}\n" for u, h in sorted(accounts.items())))
        os.chmod(tmp, 0o600)
        _give_to_broker(tmp)
        os.replace(tmp, paths.mqtt_passwd)


def set_accounts(paths: ServicePaths, passwords: Mapping[str, str]) -> None:
    """Create or update broker accounts ({username: password}) and make the broker reload them."""
    for name in passwords:
        if not _ACCOUNT_NAME.match(name):
            raise ConfigurationError(f"invalid broker account name {name!r}")
    with _locked_passwd(paths) as accounts:
        for name, password in passwords.items():
            accounts[name] = hash_password(password)
    reload(paths)


def remove_accounts(paths: ServicePaths, names: list[str]) -> None:
    """Delete broker accounts; their open connections stay until they reconnect."""
    with _locked_passwd(paths) as accounts:
        for name in names:
            accounts.pop(name, None)
    reload(paths)


def _password_matches(paths: ServicePaths, user: str, password: str) -> bool:
    with _locked_passwd(paths) as accounts:
        hashed = accounts.get(user)
    if hashed is None:
        return False
    _, _, _iterations, salt_b64, _ = hashed.split("$")
    return hash_password(password, salt=base64.b64decode(salt_b64)) == hashed


def _pid(paths: ServicePaths) -> int | None:
    try:
        pid = int(paths.mqtt_pid.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists() and b"mosquitto" not in cmdline.read_bytes():
        return None  # a stale pid file whose number now belongs to another process
    return pid


def is_running(paths: ServicePaths) -> bool:
    """True when the broker's process is alive."""
    return _pid(paths) is not None


def reload(paths: ServicePaths) -> None:
    """Make a running broker re-read its password file and ACL (SIGHUP)."""
    pid = _pid(paths)
    if pid is not None:
        os.kill(pid, signal.SIGHUP)


def start(paths: ServicePaths, settings: Settings) -> None:
    """Start the broker unless it runs; wait until it accepts connections."""
    if is_running(paths):
        return
    log.info("starting Mosquitto on 127.0.0.1:%d", settings.mqtt_port)
    paths.mqtt_pid.unlink(missing_ok=True)
    # The broker inherits our limit on open files; a thousand devices need more than 1024.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    run(["mosquitto", "-c", str(paths.mqtt_conf), "-d"], what="start Mosquitto")
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    deadline = time.monotonic() + 15
    while not _port_open(settings.mqtt_port):
        if time.monotonic() > deadline:
            tail = paths.mqtt_log.read_text()[-3000:] if paths.mqtt_log.exists() else ""
            raise ServiceError(
                f"Mosquitto did not open port {settings.mqtt_port} (log: {paths.mqtt_log})",
                command=f"mosquitto -c {paths.mqtt_conf} -d",
                output=tail,
            )
        time.sleep(0.1)


def stop(paths: ServicePaths) -> None:
    """Stop the broker; it saves its persistence file on the way out."""
    pid = _pid(paths)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while _pid(paths) is not None:
        if time.monotonic() > deadline:
            raise ServiceError(f"Mosquitto (pid {pid}) did not stop within 15 s")
        time.sleep(0.1)


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def version() -> str | None:
    """The installed Mosquitto's version, e.g. ``2.0.11``."""
    proc = run(["mosquitto", "-h"], what="ask Mosquitto for its version", check=False)
    match = re.search(r"mosquitto version (\S+)", proc.stdout + proc.stderr)
    return match.group(1) if match else None


def status(settings: Settings) -> MosquittoStatus:
    """Log in with the ingest account to see that the broker answers and accepts it."""
    host, port = settings.mqtt_host_port()
    ver = version() if settings.uses_local_broker else None
    try:
        check_login(host, port, settings.mqtt_ingest_username, settings.ingest_password())
    except (OSError, ConfigurationError, ServiceError) as exc:
        return MosquittoStatus(running=False, port=port, version=ver, error=str(exc))
    return MosquittoStatus(running=True, port=port, version=ver)
