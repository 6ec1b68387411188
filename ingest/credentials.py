"""Device credentials: register devices and give each its own broker account.

The broker is reached through :class:`stayactive.broker_accounts.BrokerAccounts`, so the same
provisioning works on the local Mosquitto and on another broker (docs/operations.md, "Scaling").
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from pathlib import Path

from stayactive import db, registry
from stayactive.broker_accounts import (
    BrokerAccounts,
    DeviceCertificate,
    check_account_name,
    for_settings,
    refuse_reserved,
)
from stayactive.paths import write_private
from stayactive.registry import NewDevice
from stayactive.settings import Settings

log = logging.getLogger(__name__)


def provision(
    settings: Settings,
    tenant_id: str,
    devices: list[NewDevice],
    *,
    accounts: BrokerAccounts | None = None,
    credentials_file: Path | None = None,
) -> dict[str, str]:
    """Register ``devices`` for ``tenant_id`` and issue each a new broker password, through
    ``accounts`` (default: the settings' broker, :func:`stayactive.broker_accounts.for_settings`).
    An existing device gets a new password (rotation).

    A device id that is reserved or names a service account is refused
    (:class:`~stayactive.broker_accounts.AccountConflict`) before anything is written.
    Returns {device_id: password}; with ``credentials_file`` the same is written there as JSON
    (mode 0600), for the device installer or the simulator. Passwords are not stored anywhere
    else: the broker keeps only their hashes.
    """
    accounts = accounts or for_settings(settings)
    ids = [check_account_name(d.device_id) for d in devices]
    refuse_reserved(ids, accounts.list_accounts())
    with db.connect(settings) as conn:
        registry.upsert_devices(conn, tenant_id, devices)
        conn.commit()
    passwords = {d: issue_password() for d in ids}
    accounts.create_devices(passwords)
    log.info("provisioned %d devices for %s", len(devices), tenant_id)
    if credentials_file is not None:
        write_credentials(credentials_file, settings, passwords)
    return passwords


def issue_password() -> str:
    """A new device or service password (144 bits)."""
    return secrets.token_urlsafe(18)


def rotate(accounts: BrokerAccounts, device_id: str) -> str:
    """Give ``device_id`` a new password and return it: the broker refuses the old one from now
    on and closes the device's open connection."""
    password = issue_password()
    accounts.rotate(device_id, password)
    log.info("rotated the broker password of %s", device_id)
    return password


def issue_certificate(
    accounts: BrokerAccounts, device_id: str, *, directory: Path | None = None
) -> DeviceCertificate:
    """Give the provisioned device ``device_id`` a client certificate, its alternative to the
    password on the broker's certificate listener (docs/operations.md, "TLS"). With
    ``directory``, write ``<id>.crt``, ``<id>.key`` (0600) and ``ca.crt`` there for the device
    installer. The private key is not kept anywhere else."""
    cert = accounts.issue_certificate(check_account_name(device_id))
    log.info("issued a client certificate for %s, valid until %s", device_id, cert.not_after)
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
        for name, data, mode in (
            (f"{device_id}.key", cert.key_pem, 0o600),
            (f"{device_id}.crt", cert.cert_pem, 0o644),
            ("ca.crt", cert.ca_pem, 0o644),
        ):
            fd = os.open(directory / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
    return cert


def remove(
    settings: Settings, device_ids: list[str], *, accounts: BrokerAccounts | None = None
) -> None:
    """Delete the devices' broker accounts: they can no longer log in, and open connections
    are closed. The registry rows stay (deactivate them there)."""
    (accounts or for_settings(settings)).remove(device_ids)
    log.info("removed the broker accounts of %d devices", len(device_ids))


def write_credentials(path: Path, settings: Settings, passwords: dict[str, str]) -> None:
    """Write the broker address and device passwords as JSON readable only by the owner."""
    host, port = settings.mqtt_host_port()
    document = {"broker": {"host": host, "port": port}, "devices": passwords}
    write_private(path, json.dumps(document, indent=1))
