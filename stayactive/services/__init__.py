"""Local services on loopback: PostgreSQL with TimescaleDB and Mosquitto.

``up`` installs what is missing, creates the cluster and broker config once, starts both and
creates the application database; run again it only checks. A service whose URL is set in the
settings (``STAYACTIVE_DATABASE_URL`` / ``STAYACTIVE_MQTT_URL``) is left to its owner.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from stayactive.broker_accounts import BrokerAccounts, for_settings
from stayactive.paths import ServicePaths
from stayactive.services import mosquitto, mosquitto_build, postgres
from stayactive.services.mosquitto import MosquittoStatus
from stayactive.services.postgres import PostgresStatus
from stayactive.settings import Settings

__all__ = [
    "ServicePaths", "ServicesStatus", "broker_accounts", "down", "paths_for", "status", "up",
]  # fmt: skip

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServicesStatus:
    """The state of both services."""

    database: PostgresStatus
    broker: MosquittoStatus
    database_local: bool
    broker_local: bool

    @property
    def healthy(self) -> bool:
        return self.database.running and self.broker.running


def paths_for(settings: Settings) -> ServicePaths:
    """The service paths below the settings' data directory."""
    return ServicePaths(settings.data_dir)


def broker_accounts(settings: Settings) -> BrokerAccounts:
    """The broker-account implementation for the settings' broker: the local Mosquitto's
    dynamic security. Another broker needs its own implementation (docs/operations.md,
    "Scaling" describes EMQX's); until then its accounts are made on that broker."""
    return for_settings(settings)


def up(settings: Settings) -> None:
    """Install, configure and start the local services that the settings ask for."""
    paths = paths_for(settings)
    paths.root.mkdir(parents=True, exist_ok=True)
    paths.root.chmod(0o755)
    if settings.uses_local_database:
        postgres.ensure_cluster(paths, settings)
        postgres.start(paths, settings)
        postgres.ensure_service_roles(paths, settings)
    else:
        log.info("STAYACTIVE_DATABASE_URL is set: using that server, no local PostgreSQL")
    if settings.uses_local_broker:
        changed = mosquitto.ensure_config(paths, settings)
        binary = mosquitto.running_binary(paths)
        built = mosquitto_build.install_for(paths).broker
        if binary is not None and (changed or binary != built):
            # A new config or the broker we built replacing an older one: restart (the broker
            # saves sessions and queued messages on the way out and restores them).
            log.info(
                "restarting Mosquitto: %s",
                "new config" if changed else f"{built} replaces {binary}",
            )
            mosquitto.stop(paths)
        mosquitto.start(paths, settings)
        mosquitto.ensure_roles(settings)
    else:
        log.info("STAYACTIVE_MQTT_URL is set: using that broker, no local Mosquitto")


def down(settings: Settings) -> None:
    """Stop the local services (data stays in the data directory)."""
    paths = paths_for(settings)
    if settings.uses_local_broker:
        mosquitto.stop(paths)
    if settings.uses_local_database:
        postgres.stop(paths)


def status(settings: Settings) -> ServicesStatus:
    """Ask both services whether they answer, and which versions they run."""
    return ServicesStatus(
        database=postgres.status(settings),
        broker=mosquitto.status(settings),
        database_local=settings.uses_local_database,
        broker_local=settings.uses_local_broker,
    )
