"""Where the local services keep their state, below the settings' data directory."""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path


class SecretFileExposed(Exception):
    """A secret file others can read, or that belongs to another user: it is not used.

    Not a :class:`~stayactive.errors.ConfigurationError` only because ``paths`` sits below the
    error tree's users; :mod:`stayactive.settings` turns it into one.
    """


@dataclass(frozen=True)
class ServicePaths:
    """Every file and folder the local services use."""

    root: Path

    @property
    def pg_home(self) -> Path:
        return self.root / "postgres"

    @property
    def pg_data(self) -> Path:
        return self.pg_home / "data"

    @property
    def pg_socket_dir(self) -> Path:
        return self.pg_home / "run"

    @property
    def pg_log(self) -> Path:
        return self.pg_home / "postgres.log"

    @property
    def mqtt_home(self) -> Path:
        return self.root / "mosquitto"

    @property
    def mqtt_conf(self) -> Path:
        return self.mqtt_home / "mosquitto.conf"

    @property
    def mqtt_passwd(self) -> Path:
        """The password file of the setup before dynamic security (migrated, then renamed)."""
        return self.mqtt_home / "passwd"

    @property
    def mqtt_acl(self) -> Path:
        """The ACL file of the setup before dynamic security (removed when migrated)."""
        return self.mqtt_home / "acl"

    @property
    def mqtt_dynsec(self) -> Path:
        """Accounts, roles and ACLs of the dynamic-security plugin (the plugin writes it)."""
        return self.mqtt_home / "dynamic-security.json"

    @property
    def mqtt_tls_dir(self) -> Path:
        """The local CA and the broker's server certificate."""
        return self.mqtt_home / "tls"

    @property
    def mqtt_ca_cert(self) -> Path:
        """The local CA's certificate: what clients trust the broker with."""
        return self.mqtt_tls_dir / "ca.crt"

    @property
    def mqtt_persistence(self) -> Path:
        return self.mqtt_home / "data"

    @property
    def mqtt_log(self) -> Path:
        return self.mqtt_home / "mosquitto.log"

    @property
    def mqtt_pid(self) -> Path:
        return self.mqtt_home / "mosquitto.pid"

    @property
    def secrets_dir(self) -> Path:
        return self.root / "secrets"

    @property
    def logs_dir(self) -> Path:
        """Logs of the processes `stayactive run` supervises."""
        return self.root / "logs"

    @property
    def demo_dir(self) -> Path:
        """Everything of `stayactive demo` besides its database schema and broker accounts."""
        return self.root / "demo"

    @property
    def build_dir(self) -> Path:
        return self.root / "build"

    def secret(self, name: str, *, create: bool = False) -> str | None:
        """The secret ``name`` from the secrets folder; with ``create``, generate it if missing.

        A secret file must be the current user's and readable by nobody else (0600, as ssh
        asks of its keys): otherwise :class:`SecretFileExposed`, naming the file and its mode,
        never its content.
        """
        path = self.secrets_dir / name
        if path.exists():
            check_secret_file(path)
            return path.read_text().strip()
        if not create:
            return None
        self.secrets_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.secrets_dir, 0o700)
        value = secrets.token_urlsafe(24)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(value + "\n")
        return value


def check_secret_file(path: Path) -> None:
    """Raise :class:`SecretFileExposed` unless ``path`` is ours and private (mode 0600)."""
    info = path.stat()
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid != os.geteuid():
        raise SecretFileExposed(
            f"secret file {path} belongs to uid {info.st_uid}, not to this service's user "
            f"(uid {os.geteuid()}): chown it"
        )
    if mode & 0o077:
        raise SecretFileExposed(
            f"secret file {path} is readable by others (mode {mode:04o}): chmod 600 {path}"
        )


def db_role_password_name(role: str) -> str:
    """The secrets-folder name of a service role's database password."""
    return f"db_password_{role}"


DB_PASSWORD = "db_password"
MQTT_ADMIN_PASSWORD = "mqtt_admin_password"
API_JWT_KEY = "api_jwt_key"


def mqtt_worker_secret(worker_id: str) -> str:
    """The name of the secret holding ingest worker ``worker_id``'s broker password."""
    return f"mqtt_worker_{worker_id}"


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (a reader sees the old or the new file, never
    half of one), readable by the owner only: mode 0600 from the start."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    tmp.replace(path)
