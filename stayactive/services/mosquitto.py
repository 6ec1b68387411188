"""The project-owned Mosquitto broker on loopback: config, accounts, start and stop.

The broker is Mosquitto 2.0.21 built from Debian 13's source into a private prefix
(:mod:`stayactive.services.mosquitto_build`). No anonymous access; accounts and topic rights live
in the dynamic-security plugin (:mod:`stayactive.broker_accounts.dynsec`), which authorises every
SUBSCRIBE and binds each account to its client id. Persistence is on so queued QoS 1 messages
and sessions survive a broker restart.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import resource
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from stayactive.broker_accounts import check_account_name, dynsec
from stayactive.broker_accounts import local_ca as tls
from stayactive.errors import ConfigurationError, ServiceError
from stayactive.mqtt import check_login, connack
from stayactive.paths import MQTT_ADMIN_PASSWORD, ServicePaths, mqtt_worker_secret
from stayactive.services import mosquitto_build
from stayactive.services._run import give_to, run
from stayactive.settings import Settings, default_worker_id

log = logging.getLogger(__name__)

#: The protocol's payload limit (256 KiB) plus room for the topic and properties: a device
#: publishing more is disconnected by the broker (MQTT 5: reason 0x95, Packet too large).
MAX_PACKET_BYTES = 256 * 1024 + 4096
LOG_MODE = 0o640


@dataclass(frozen=True)
class MosquittoStatus:
    """What ``services status`` shows of the broker."""

    running: bool
    port: int
    version: str | None = None
    error: str | None = None
    note: str | None = None


def _server_user() -> str | None:
    return mosquitto_build.SERVICE_USER if os.geteuid() == 0 else None


def _give_to_broker(*paths: Path) -> None:
    give_to(_server_user(), *paths)


def server_hostnames(settings: Settings) -> list[str]:
    """The names the local broker's server certificate covers: loopback, this machine's names,
    and the host devices are told to connect to (:meth:`Settings.device_broker`: an interface's
    address in ``STAYACTIVE_MQTT_TLS_BIND`` or the name in ``STAYACTIVE_DEVICE_BROKER_URL``).
    A device checks the certificate against that host; without it there, TLS fails."""
    names = tls.default_hostnames()
    if settings.mqtt_url is None:  # an external broker has a certificate of its own
        names.append(settings.device_broker()[0])
    return list(dict.fromkeys(names))


def ensure_config(paths: ServicePaths, settings: Settings) -> bool:
    """Build Mosquitto if needed and write its config; create the plugin's file with the admin
    account on first use (migrating the accounts of an older, password-file setup). Returns
    True when the config file changed (a running broker must then be restarted)."""
    install = mosquitto_build.ensure_installed(paths)
    paths.mqtt_home.mkdir(parents=True, exist_ok=True)
    paths.mqtt_persistence.mkdir(exist_ok=True)
    config = _broker_config(paths, settings, install)
    changed = not paths.mqtt_conf.exists() or paths.mqtt_conf.read_text() != config
    if changed:
        paths.mqtt_conf.write_text(config)
    admin_password = paths.secret(MQTT_ADMIN_PASSWORD, create=True)
    assert admin_password is not None
    if not paths.mqtt_dynsec.exists():
        _write_initial_dynsec(paths, admin_password)
    ca = tls.LocalCA(paths)
    # Mosquitto 2.0 reads its certificates when it starts: a renewed one needs a restart.
    changed = ca.ensure(server_hostnames(settings)) or changed
    paths.mqtt_log.touch(exist_ok=True)
    os.chmod(paths.mqtt_log, LOG_MODE)
    os.chmod(paths.mqtt_dynsec, 0o600)
    _give_to_broker(
        paths.mqtt_home, paths.mqtt_persistence, paths.mqtt_conf, paths.mqtt_dynsec,
        paths.mqtt_log, paths.mqtt_tls_dir, ca.server_key_path, ca.server_cert_path,
    )  # fmt: skip
    return changed


def _write_initial_dynsec(paths: ServicePaths, admin_password: str) -> None:
    migrated: dict[str, str] = {}
    if paths.mqtt_passwd.exists():
        old = dynsec.read_password_file(paths.mqtt_passwd)
        # The old shared `ingest` account is not carried over: each worker gets its own.
        migrated = {user: hashed for user, hashed in old.items() if user != "ingest"}
        log.info("migrating %d device accounts from the password file", len(migrated))
    tmp = paths.mqtt_dynsec.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(dynsec.initial_config(admin_password, migrated))
    _give_to_broker(tmp)
    os.replace(tmp, paths.mqtt_dynsec)
    if paths.mqtt_passwd.exists():
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        paths.mqtt_passwd.rename(paths.mqtt_passwd.with_name(f"passwd.migrated-{stamp}"))
    paths.mqtt_acl.unlink(missing_ok=True)
    (paths.mqtt_home / ".passwd.lock").unlink(missing_ok=True)


def _broker_config(
    paths: ServicePaths, settings: Settings, install: mosquitto_build.MosquittoInstall
) -> str:
    ca = tls.LocalCA(paths)
    return f"""# Written by `stayactive services up`; it is rewritten on every `up`.
per_listener_settings false
allow_anonymous false
# Plain MQTT on loopback only: the services on this machine (ingest, the admin account).
listener {settings.mqtt_port} 127.0.0.1

# TLS with the local CA's server certificate; devices log in with their password.
listener {settings.mqtt_tls_port} {settings.mqtt_tls_bind}
certfile {ca.server_cert_path}
keyfile {ca.server_key_path}
tls_version tlsv1.2

# TLS for devices with a client certificate signed by the local CA, instead of a password: the
# certificate's common name (the device id) becomes the username and the client id, so a
# device cannot take another's session. Mosquitto 2.0.21's dynamic-security plugin has no
# certificate login of its own; its roles still decide what the device may do.
listener {settings.mqtt_cert_port} {settings.mqtt_tls_bind}
certfile {ca.server_cert_path}
keyfile {ca.server_key_path}
cafile {ca.ca_cert_path}
require_certificate true
use_identity_as_username true
use_username_as_clientid true
tls_version tlsv1.2

plugin {install.dynsec_plugin}
plugin_opt_config_file {paths.mqtt_dynsec}
persistence true
persistence_location {paths.mqtt_persistence}/
# Save the in-memory state (queued QoS 1 messages of persistent sessions) every 10 s and on exit.
autosave_interval 10
# What one session (an ingest worker that is away or behind) may queue; see docs/operations.md,
# "Broker limits". Beyond it the broker drops new messages for that session; the devices still
# hold them until the backend's ack covers them, and replay them.
max_queued_messages {settings.mqtt_max_queued_messages}
max_queued_bytes {settings.mqtt_max_queued_bytes}
max_packet_size {MAX_PACKET_BYTES}
# ingest's queue watch reads the $SYS counters (docs/operations.md, "Broker limits").
sys_interval {settings.mqtt_sys_interval_s}
log_dest file {paths.mqtt_log}
log_type error
log_type warning
log_type notice
log_type information
connection_messages true
log_timestamp_format %Y-%m-%dT%H:%M:%S
pid_file {paths.mqtt_pid}
"""


def accounts(settings: Settings) -> dynsec.DynsecAccounts:
    """The local broker's accounts (needs the admin password from the data directory)."""
    return dynsec.local_accounts(settings)


def ensure_worker_account(settings: Settings, worker_id: str) -> str:
    """Give ingest worker ``worker_id`` its own account on the local broker, bound to client id
    ``worker_id``, and return its password (kept in the data directory's secrets)."""
    check_account_name(worker_id)
    paths = ServicePaths(settings.data_dir)
    name = mqtt_worker_secret(worker_id)
    known = paths.secret(name)
    password = known if known is not None else paths.secret(name, create=True)
    assert password is not None
    broker = accounts(settings)
    if known is None or broker.get(worker_id) is None:
        broker.create_service(worker_id, password, "ingest")
    return password


def remove_worker_account(settings: Settings, worker_id: str) -> None:
    """Delete ingest worker ``worker_id``'s account on the local broker and its password."""
    accounts(settings).remove([worker_id])
    path = ServicePaths(settings.data_dir).secrets_dir / mqtt_worker_secret(worker_id)
    path.unlink(missing_ok=True)


def broker_pid(paths: ServicePaths) -> int | None:
    """The broker's process id, or None when it is not running."""
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
    return broker_pid(paths) is not None


def running_binary(paths: ServicePaths) -> Path | None:
    """The executable of the running broker (to see whether it is the one we built)."""
    pid = broker_pid(paths)
    if pid is None:
        return None
    try:
        return Path(os.readlink(f"/proc/{pid}/exe"))
    except OSError:
        return None


def start(paths: ServicePaths, settings: Settings) -> None:
    """Start the broker unless it runs; wait until it accepts connections."""
    if is_running(paths):
        return
    install = mosquitto_build.install_for(paths)
    log.info("starting Mosquitto %s on 127.0.0.1:%d", mosquitto_build.VERSION, settings.mqtt_port)
    paths.mqtt_pid.unlink(missing_ok=True)
    command = [str(install.broker), "-c", str(paths.mqtt_conf), "-d"]
    # The broker inherits our limit on open files; a thousand devices need more than 1024.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        run(command, what="start Mosquitto")
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    deadline = time.monotonic() + 15
    while not _port_open(settings.mqtt_port):
        if time.monotonic() > deadline:
            tail = paths.mqtt_log.read_text()[-3000:] if paths.mqtt_log.exists() else ""
            raise ServiceError(
                f"Mosquitto did not open port {settings.mqtt_port} (log: {paths.mqtt_log})",
                command=" ".join(command),
                output=tail,
            )
        time.sleep(0.1)


def ensure_roles(settings: Settings) -> None:
    """Bring the service roles to this code's ACLs on the running broker."""
    accounts(settings).ensure_roles()


def stop(paths: ServicePaths) -> None:
    """Stop the broker; it saves its persistence file on the way out."""
    pid = broker_pid(paths)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while broker_pid(paths) is not None:
        if time.monotonic() > deadline:
            raise ServiceError(f"Mosquitto (pid {pid}) did not stop within 15 s")
        time.sleep(0.1)


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def status(settings: Settings) -> MosquittoStatus:
    """Log in to see that the broker answers: the local one with the admin account on both
    listeners, an external one as :func:`_external_status` says."""
    host, port = settings.mqtt_host_port()
    ver: str | None = None
    try:
        if settings.uses_local_broker:
            paths = ServicePaths(settings.data_dir)
            binary = running_binary(paths)
            ver = mosquitto_build.install_for(paths).version()
            if binary is not None and binary != mosquitto_build.install_for(paths).broker:
                ver = f"{ver} built, but {binary} is running: run `stayactive services up`"
            password = paths.secret(MQTT_ADMIN_PASSWORD)
            if password is None:
                raise ConfigurationError("no broker admin password: run `stayactive services up`")
            check_login(host, port, dynsec.ADMIN_ACCOUNT, password)
            # The TLS listener too: its certificate must chain to the local CA and name us.
            check_login(
                host, settings.mqtt_tls_port, dynsec.ADMIN_ACCOUNT, password,
                ca_file=paths.mqtt_ca_cert,
            )  # fmt: skip
        else:
            return _external_status(settings, host, port)
    except (OSError, ConfigurationError, ServiceError) as exc:
        return MosquittoStatus(running=False, port=port, version=ver, error=str(exc))
    return MosquittoStatus(running=True, port=port, version=ver)


def _external_status(settings: Settings, host: str, port: int) -> MosquittoStatus:
    """The broker answers MQTT: a CONNACK to the ingest account under a client id of the
    check's own. Under a worker's id the login would take over that worker's connection and end
    its session; an account bound to its worker's id is refused under another one, and that
    refusal is the broker's answer too (Mosquitto says "Not authorized" for any refused login,
    so it cannot tell a wrong password from a wrong id: the worker checks its login at start)."""
    username, password = settings.ingest_credentials(default_worker_id())
    reason = connack(host, port, username, password, ca_file=settings.mqtt_tls_ca())
    note = None
    if reason.is_failure:
        note = (
            f"answers; refused {username!r} under the check's own client id ({reason}), "
            "as it should when the account is bound to its worker's id"
        )
    return MosquittoStatus(running=True, port=port, note=note)
