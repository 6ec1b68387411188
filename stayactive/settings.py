"""Settings: one class, read from ``STAYACTIVE_*`` environment variables and an optional ``.env``.

Nothing is built at import time: call :func:`get_settings` (cached) so tests can swap values by
setting environment variables and calling ``get_settings.cache_clear()``. A value that is wrong
(an unknown time zone, a malformed URL, a port that is not a number) makes :func:`load_settings`
raise one :class:`~stayactive.errors.ConfigurationError` naming the variable, which the CLI
prints as one line.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import os
import socket
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from stayactive.errors import ConfigurationError
from stayactive.paths import (
    DB_PASSWORD,
    SecretFileExposed,
    ServicePaths,
    db_role_password_name,
    mqtt_worker_secret,
)

#: Who connects to the database: the owner (migrations, maintenance, the operator's commands)
#: or one of the services, each with its own role (docs/privacy.md, "Least privilege").
DbRole = Literal["owner", "ingest", "analytics", "api", "reporting"]
SERVICE_ROLES: tuple[DbRole, ...] = ("ingest", "analytics", "api", "reporting")

DEFAULT_PG_PORT = 55432
DEFAULT_MQTT_PORT = 18830
DEFAULT_MQTT_TLS_PORT = 18883
DEFAULT_MQTT_CERT_PORT = 18884


def default_worker_id() -> str:
    """The client id (and broker account) of an ingest worker started without ``--worker-id``."""
    return f"ingest-{socket.gethostname()}-1"


def _default_data_dir() -> Path:
    # As root the local services run as the system users `postgres` and `mosquitto`, which must be
    # able to reach the data directory: a checkout under a private temporary directory would not
    # do, so root uses the conventional place for service state.
    if os.geteuid() == 0:
        return Path("/var/lib/stayactive")
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "stayactive"


class Settings(BaseSettings):
    """Runtime configuration of every StayActive process."""

    model_config = SettingsConfigDict(
        env_prefix="STAYACTIVE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL/TimescaleDB URL. Unset: the local cluster of `services up`.",
    )
    database_name: str = Field(default="stayactive", description="Database on the local cluster.")
    database_schema: str = Field(default="stayactive", description="Schema of the application.")
    raw_retention_days: int = Field(
        default=400, ge=1, description="Raw device data older than this is dropped by maintenance."
    )
    # One PostgreSQL role per service (created by the migrations; `services up` gives the local
    # ones a password in the secrets folder). A password set here wins over the folder.
    database_ingest_role: str = Field(
        default="stayactive_ingest", description="Role of the ingest workers."
    )
    database_analytics_role: str = Field(
        default="stayactive_analytics", description="Role of the analytics runner."
    )
    database_api_role: str = Field(default="stayactive_api", description="Role of the API.")
    database_reporting_role: str = Field(
        default="stayactive_reporting", description="Read-only role for reporting tools."
    )
    database_ingest_password: SecretStr | None = None
    database_analytics_password: SecretStr | None = None
    database_api_password: SecretStr | None = None
    database_reporting_password: SecretStr | None = None
    database_statement_timeout_s: float = Field(
        default=30.0,
        ge=0,
        description="Longest a statement may run before the server cancels it (0: no limit). "
        "Migrations and maintenance run without a limit.",
    )
    mqtt_url: str | None = Field(
        default=None,
        description="mqtt://host:port of the broker, or mqtts://host:port for TLS. Unset: the "
        "local Mosquitto on loopback, without TLS.",
    )
    device_broker_url: str | None = Field(
        default=None,
        description="mqtts://host:port that devices are told to connect to (the answer of "
        "POST /devices and of `stayactive devices add|rotate`). Unset: STAYACTIVE_MQTT_URL "
        "for an external broker, else the local broker's TLS listener "
        "(STAYACTIVE_MQTT_TLS_BIND, STAYACTIVE_MQTT_TLS_PORT).",
    )
    mqtt_ca_file: Path | None = Field(
        default=None,
        description="CA certificate that an mqtts:// broker's certificate must chain to. Unset: "
        "the local broker's CA (in the data directory).",
    )
    mqtt_ingest_username: str | None = Field(
        default=None,
        description="Broker account of this ingest worker. Unset: the worker id (each worker "
        "has an account of its own, bound to its client id).",
    )
    mqtt_ingest_password: SecretStr | None = Field(
        default=None,
        description="Password of that account. Unset: the one generated for the worker on the "
        "local broker (kept in the data directory).",
    )
    mqtt_max_queued_messages: int = Field(
        default=100_000, ge=100, description="Messages one broker session may queue."
    )
    mqtt_max_queued_bytes: int = Field(
        default=512 * 1024 * 1024, ge=1024 * 1024, description="Bytes one broker session may queue."
    )
    mqtt_sys_interval_s: int = Field(
        default=10,
        ge=1,
        le=3600,
        description="How often the local broker publishes its $SYS counters (ingest's warning "
        "before the broker's queue limit reacts within this).",
    )
    ack_gap_s: float = Field(
        default=300.0,
        gt=0,
        description="How long the ack watermark waits at a gap in a device's sequence before "
        "stepping over it (devices replay uncovered messages well before).",
    )
    time_zone: str = Field(default="Europe/Oslo", description="Default time zone of new tenants.")
    ingest_metrics_port: int = Field(
        default=9108,
        ge=0,
        le=65535,
        description="Port of ingest's /metrics and /health under `stayactive run` (0: none).",
    )
    analytics_interval_s: float = Field(
        default=30.0,
        gt=0,
        description="Pause between passes of `stayactive analytics run --follow`.",
    )
    demo_schema: str = Field(
        default="demo",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="Database schema of `stayactive demo` (its own, so `--reset` can drop it).",
    )
    demo_dir: Path | None = Field(
        default=None, description="State of `stayactive demo`. Unset: DATA_DIR/demo."
    )
    data_dir: Path = Field(default_factory=_default_data_dir)
    pg_port: int = DEFAULT_PG_PORT
    mqtt_port: int = DEFAULT_MQTT_PORT
    mqtt_tls_port: int = Field(
        default=DEFAULT_MQTT_TLS_PORT,
        description="The local broker's TLS listener (server certificate; devices log in with "
        "their password).",
    )
    mqtt_cert_port: int = Field(
        default=DEFAULT_MQTT_CERT_PORT,
        description="The local broker's TLS listener for devices with a client certificate "
        "(the certificate's common name is the username and the client id).",
    )
    mqtt_tls_bind: str = Field(
        default="127.0.0.1",
        description="Address the local broker's TLS listeners bind to: 0.0.0.0 (or one "
        "interface's address) so that devices on the network reach them.",
    )

    # The API service (docs/api.md).
    api_host: str = Field(default="127.0.0.1", description="Address `stayactive api` binds.")
    api_port: int = Field(default=8000, ge=1, le=65535, description="Port of `stayactive api`.")
    api_token_ttl_s: int = Field(
        default=900, ge=30, le=86400, description="Lifetime of an access token."
    )
    api_session_ttl_s: int = Field(
        default=12 * 3600,
        ge=60,
        description="A login's session ends this long after it began; tokens refresh within it.",
    )
    api_jwt_previous_key: SecretStr | None = Field(
        default=None,
        description="With STAYACTIVE_API_JWT_KEY: the key it replaced, which still verifies "
        "tokens until they expire (a rotation in a vault).",
    )
    api_jwt_key: SecretStr | None = Field(
        default=None,
        description="Key that signs access tokens. Unset: one generated in the data directory.",
    )
    api_login_max_failures: int = Field(
        default=5,
        ge=1,
        description="Failed logins of one account name from one client address before the "
        "name is locked for that address (30 s, doubled with every further failure).",
    )
    api_login_max_failures_per_client: int = Field(
        default=30,
        ge=1,
        description="Failed logins from one client address, over every name, before the "
        "address is locked (guessing across accounts).",
    )
    api_login_max_failures_per_account: int = Field(
        default=50,
        ge=1,
        description="Failed logins of one account name, over every address, before the name "
        "is locked for all (guessing spread over many addresses).",
    )
    api_lockout_s: int = Field(default=900, ge=1, description="Longest lock after failed logins.")
    api_trusted_proxies: str = Field(
        default="127.0.0.1,::1",
        description="Comma-separated addresses or networks (CIDR) of proxies whose "
        "X-Forwarded-For names the client: the dashboard and a reverse proxy in front of the "
        "API. Empty: the address the connection comes from, always.",
    )
    api_max_body_bytes: int = Field(
        default=20 * 1024 * 1024, ge=1024, description="Largest request body (imports)."
    )
    api_docs_ui: bool = Field(
        default=False,
        description=(
            "Serve the interactive docs (Swagger UI) at /api/v1/docs. Off by default: the page "
            "loads its scripts from cdn.jsdelivr.net without integrity checks. The OpenAPI "
            "document at /api/v1/openapi.json is always served."
        ),
    )
    api_pool_max: int = Field(default=10, ge=1, le=100, description="Database connections.")
    api_alerts_interval_s: float = Field(
        default=60.0, ge=0, description="How often the API evaluates every ward's alerts; 0: off."
    )
    api_report_cache_s: float = Field(
        default=3600.0,
        ge=0,
        description="How long a published savings report is served from memory at most (it is "
        "recomputed at once when its data change); 0: never cached.",
    )
    api_report_precompute_s: float = Field(
        default=60.0,
        ge=0,
        description="How often the API looks at every tenant's published savings report and "
        "computes it ahead, in both languages, when its data changed or it is about to expire, "
        "so that a reader finds it ready; 0: off (computed on the first request).",
    )

    # The dashboard (docs/dashboard.md): a Streamlit app that talks to the API over HTTP only.
    dashboard_host: str = Field(
        default="127.0.0.1", description="Address `stayactive dashboard` binds."
    )
    dashboard_port: int = Field(
        default=8501, ge=1, le=65535, description="Port of `stayactive dashboard`."
    )
    dashboard_api_url: str | None = Field(
        default=None,
        description="Base URL of the API the dashboard calls. Unset: http://API_HOST:API_PORT.",
    )
    dashboard_idle_timeout_s: int = Field(
        default=600,
        ge=30,
        le=12 * 3600,
        description="A dashboard login ends after this long without a touch (shared tablets).",
    )
    dashboard_refresh_s: int = Field(
        default=60, ge=5, le=3600, description="How often the ward overview refreshes itself."
    )

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("mqtt_url", "device_broker_url")
    @classmethod
    def _mqtt_url(cls, value: str | None) -> str | None:
        if value is not None:
            _broker_address(value)
        return value

    @field_validator("api_trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        # Strict, as uvicorn reads them: 10.0.0.1/8 (host bits set) would pass a loose check
        # and then never be trusted.
        for item in (part.strip() for part in value.split(",")):
            try:
                if item:
                    ipaddress.ip_network(item)
            except ValueError:
                raise ValueError(
                    f"{item!r} is not an IP address or network (CIDR such as 10.20.0.0/24, "
                    "with no host bits set)"
                ) from None
        return value

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    def as_environment(self) -> dict[str, str]:
        """These settings as ``STAYACTIVE_*`` variables: a child process given them (and run
        in the same folder, for ``.env``) reads the same settings. Unset values are left out,
        and so are secrets and the database URL (it may hold a password): a child reads those
        where this process did, so a process that needs none (the dashboard, the simulated
        devices) is not handed them."""
        out: dict[str, str] = {}
        for name, value in self.model_dump().items():
            if value is None or isinstance(value, SecretStr) or name == "database_url":
                continue
            if isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, list | dict | tuple):
                text = json.dumps(value, default=str)
            else:
                text = str(value)
            out[f"STAYACTIVE_{name.upper()}"] = text
        return out

    @property
    def uses_local_database(self) -> bool:
        """True when the project-owned PostgreSQL cluster serves the database."""
        return self.database_url is None

    @property
    def uses_local_broker(self) -> bool:
        """True when the project-owned Mosquitto serves MQTT."""
        return self.mqtt_url is None

    def dsn(self, dbname: str | None = None, *, role: DbRole = "owner") -> str:
        """The connection string for ``dbname`` (default: the configured database) as ``role``.

        The owner connects with ``STAYACTIVE_DATABASE_URL`` as given (or as the local
        superuser); a service role to the same server and database with its own user name and
        password (docs/privacy.md). Never log it: it holds the password.
        """
        if self.database_url is not None:
            parts = urlsplit(self.database_url)
            if dbname is not None:
                parts = parts._replace(path="/" + dbname)
            if role == "owner":
                return parts.geturl()
            host = parts.hostname or ""
            host = f"[{host}]" if ":" in host else host
            port = f":{parts.port}" if parts.port else ""
            return parts._replace(netloc=self._credentials(role) + host + port).geturl()
        name = dbname or self.database_name
        return f"postgresql://{self._credentials(role)}127.0.0.1:{self.pg_port}/{name}"

    def _credentials(self, role: DbRole) -> str:
        user = quote(self.role_user(role), safe="")
        return f"{user}:{quote(self.role_password(role), safe='')}@"

    def _secret(self, name: str, *, create: bool = False) -> str | None:
        try:
            return ServicePaths(self.data_dir).secret(name, create=create)
        except SecretFileExposed as exc:
            raise ConfigurationError(str(exc)) from exc

    def role_user(self, role: DbRole) -> str:
        """The PostgreSQL user that ``role`` logs in as."""
        users: dict[DbRole, str] = {
            "owner": "stayactive",
            "ingest": self.database_ingest_role,
            "analytics": self.database_analytics_role,
            "api": self.database_api_role,
            "reporting": self.database_reporting_role,
        }
        return users[role]

    def role_password(self, role: DbRole) -> str:
        """The password of ``role``: from the settings, else from the local secrets folder."""
        given: dict[DbRole, SecretStr | None] = {
            "owner": None,
            "ingest": self.database_ingest_password,
            "analytics": self.database_analytics_password,
            "api": self.database_api_password,
            "reporting": self.database_reporting_password,
        }
        secret = given[role]
        if secret is not None:
            return secret.get_secret_value()
        password = self._secret(DB_PASSWORD if role == "owner" else db_role_password_name(role))
        if password is None:
            variable = (
                "STAYACTIVE_DATABASE_URL"
                if role == "owner"
                else f"STAYACTIVE_DATABASE_{role.upper()}_PASSWORD"
            )
            raise ConfigurationError(
                f"no database password for the {role} role in {self.data_dir / 'secrets'}: run "
                f"`stayactive services up` or set {variable}"
            )
        return password

    def ingest_credentials(self, worker_id: str) -> tuple[str, str]:
        """Username and password of ingest worker ``worker_id`` on the broker."""
        username = self.mqtt_ingest_username or worker_id
        if self.mqtt_ingest_password is not None:
            return username, self.mqtt_ingest_password.get_secret_value()
        password = self._secret(mqtt_worker_secret(username))
        if password is None:
            raise ConfigurationError(
                f"no broker password for ingest worker {username!r}: `stayactive ingest run` "
                "creates its account on the local broker; for another broker set "
                "STAYACTIVE_MQTT_INGEST_PASSWORD"
            )
        return username, password

    def api_base_url(self) -> str:
        """The API's base URL as the dashboard calls it (without ``/api/v1``)."""
        if self.dashboard_api_url is not None:
            return self.dashboard_api_url.rstrip("/")
        return local_url(self.api_host, self.api_port)

    def mqtt_host_port(self) -> tuple[str, int]:
        """Host and port of the broker."""
        if self.mqtt_url is None:
            return "127.0.0.1", self.mqtt_port
        return _broker_address(self.mqtt_url)

    def device_broker(self) -> tuple[str, int, bool]:
        """Host, port and whether with TLS: the broker as devices are told to reach it
        (:attr:`device_broker_url`), never the services' plain loopback listener."""
        url = self.device_broker_url or self.mqtt_url
        if url is not None:
            host, port = _broker_address(url)
            return host, port, urlsplit(url).scheme == "mqtts"
        host = self.mqtt_tls_bind
        if host in ("0.0.0.0", "::", ""):
            host = _machine_name()  # every interface: the name the machine gives itself
        return host, self.mqtt_tls_port, True

    def mqtt_tls_ca(self) -> Path | None:
        """The CA file to check the broker's certificate with, or None without TLS (an
        ``mqtt://`` URL or the local broker's loopback port)."""
        if self.mqtt_url is None or urlsplit(self.mqtt_url).scheme != "mqtts":
            return None
        return self.mqtt_ca_file or ServicePaths(self.data_dir).mqtt_ca_cert


def local_url(host: str, port: int) -> str:
    """The URL to reach, from this machine, a service bound to ``host`` (loopback for the
    wildcard addresses)."""
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{port}"


@functools.cache
def _machine_name() -> str:
    """:func:`socket.getfqdn`, looked up once per process: it asks the resolver, which can take
    seconds, and :meth:`Settings.device_broker` is called in the API's request handlers (on its
    event loop, where every other request would wait)."""
    return socket.getfqdn()


def _broker_address(url: str) -> tuple[str, int]:
    """Host and port of an ``mqtt[s]://host[:port]`` URL; ValueError saying what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "tcp", "mqtts"):
        raise ValueError(f"must start with mqtt:// or mqtts://, got {url!r}")
    try:
        port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
    except ValueError as exc:  # a port that is not a number, or out of range
        raise ValueError(f"has no valid port: {url!r}") from exc
    return parts.hostname or "127.0.0.1", port


def load_settings(**overrides: Any) -> Settings:
    """Read the settings (environment, ``.env``, then ``overrides``).

    Raises
    ------
    ConfigurationError
        A value is invalid; the message names each ``STAYACTIVE_*`` variable and says why.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"STAYACTIVE_{'_'.join(str(p) for p in error['loc']).upper()}: "
            f"{error['msg'].removeprefix('Value error, ')}"
            for error in exc.errors()
        )
        raise ConfigurationError(f"invalid setting: {problems}") from None


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read once (see :func:`load_settings`)."""
    return load_settings()
