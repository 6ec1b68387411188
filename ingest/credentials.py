"""Device credentials: register devices and give each its own broker account."""

from __future__ import annotations

import json
import logging
import os
import secrets
from pathlib import Path

from stayactive import db, registry
from stayactive.errors import ConfigurationError
from stayactive.paths import ServicePaths
from stayactive.registry import NewDevice
from stayactive.services import mosquitto
from stayactive.settings import Settings

log = logging.getLogger(__name__)


def provision(
    settings: Settings,
    tenant_id: str,
    devices: list[NewDevice],
    *,
    credentials_file: Path | None = None,
) -> dict[str, str]:
    """Register ``devices`` for ``tenant_id`` and issue each a new broker password.

    Returns {device_id: password}; with ``credentials_file`` the same is written there as JSON
    (mode 0600), for the device installer or the simulator. Passwords are not stored anywhere
    else: the broker keeps only their hashes.
    """
    if not settings.uses_local_broker:
        raise ConfigurationError(
            "devices can only be given broker accounts on the local Mosquitto; with "
            "STAYACTIVE_MQTT_URL set, create the accounts on that broker"
        )
    with db.connect(settings) as conn:
        registry.upsert_devices(conn, tenant_id, devices)
        conn.commit()
    passwords = {d.device_id: secrets.token_urlsafe(18) for d in devices}
    mosquitto.set_accounts(ServicePaths(settings.data_dir), passwords)
    log.info("provisioned %d devices for %s", len(devices), tenant_id)
    if credentials_file is not None:
        write_credentials(credentials_file, settings, passwords)
    return passwords


def remove(settings: Settings, device_ids: list[str]) -> None:
    """Delete the devices' broker accounts: they can no longer log in (open connections end
    when they reconnect). The registry rows stay (deactivate them there)."""
    if not settings.uses_local_broker:
        raise ConfigurationError(
            "broker accounts can only be removed on the local Mosquitto; with "
            "STAYACTIVE_MQTT_URL set, remove them on that broker"
        )
    mosquitto.remove_accounts(ServicePaths(settings.data_dir), device_ids)
    log.info("removed the broker accounts of %d devices", len(device_ids))


def write_credentials(path: Path, settings: Settings, passwords: dict[str, str]) -> None:
    """Write the broker address and device passwords as JSON readable only by the owner."""
    host, port = settings.mqtt_host_port()
    document = {"broker": {"host": host, "port": port}, "devices": passwords}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(document, fh, indent=1)
