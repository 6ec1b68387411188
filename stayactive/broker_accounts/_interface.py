"""The broker-account interface: what provisioning needs from an MQTT broker.

Device provisioning, credential rotation and deactivation go through :class:`BrokerAccounts`,
so they work against any broker that can hold one account per device with its own topic rights:
the local Mosquitto's dynamic-security plugin (``stayactive.broker_accounts.dynsec``) is one
implementation; docs/operations.md ("Scaling") describes how EMQX would implement it.

Every implementation gives

- a **device** account: username = client id = device id (the client id is bound to the
  account, so nobody else can take over the device's session), publishing only to its own
  ``telemetry``/``events``/``status`` and subscribing only to its own ``config`` and ``ack``;
- a **service** account for each ingest worker: its client id is bound to it as well;
- changes that take effect at once: a new password is needed for the next connection, and the
  open connection of a disabled, rotated or removed account is closed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from stayactive.errors import ConfigurationError

AccountKind = Literal["device", "ingest", "admin"]

#: Names no device may have, whether or not a service account of that name exists yet.
RESERVED_NAMES = frozenset({"admin", "ingest", "backend", "root", "stayactive", "stayactive-admin"})
#: Service-account names: a device id pattern with dots allowed (``ingest-host-1``).
ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class AccountConflict(ConfigurationError):
    """A name is taken by an account of another kind (a device named like a service)."""


@dataclass(frozen=True)
class BrokerAccount:
    """One account as the broker holds it."""

    username: str
    kind: AccountKind
    client_id: str | None
    enabled: bool = True


@dataclass(frozen=True)
class DeviceCertificate:
    """A device's client certificate and private key, and the CA certificate that both the
    broker's certificate and this one chain to; all PEM."""

    device_id: str
    cert_pem: bytes
    key_pem: bytes = field(repr=False)  # a repr lands in logs and tracebacks
    ca_pem: bytes
    not_after: dt.datetime


class BrokerAccounts(Protocol):
    """Accounts on the MQTT broker. Each call takes effect on the running broker within
    seconds, without a restart or a reload."""

    def list_accounts(self) -> list[BrokerAccount]:
        """Every account the broker holds."""
        ...

    def create_devices(self, passwords: Mapping[str, str]) -> None:
        """Create device accounts ({device_id: password}); an existing device gets the new
        password (re-provisioning). Raises :class:`AccountConflict` for a name that a service
        account has or that is reserved."""
        ...

    def rotate(self, username: str, password: str) -> None:
        """Replace an account's password: the old one is refused from now on and the open
        connection is closed, so the device reconnects with the new one."""
        ...

    def set_enabled(self, username: str, enabled: bool) -> None:
        """Disable (refuse every login; close the open connection) or enable an account."""
        ...

    def remove(self, usernames: Sequence[str]) -> None:
        """Delete accounts (unknown names are ignored); open connections are closed."""
        ...

    def create_service(self, username: str, password: str, kind: AccountKind = "ingest") -> None:
        """Create or update a service account bound to client id ``username``. Raises
        :class:`AccountConflict` when a device has that name."""
        ...

    def issue_certificate(self, device_id: str) -> DeviceCertificate:
        """A client certificate for the existing device account ``device_id``, with which the
        device may log in instead of with its password (on the broker's certificate listener;
        its common name is the device id, which the broker takes as username and client id).
        Raises :class:`AccountConflict` when ``device_id`` is not a device account."""
        ...


def refuse_reserved(device_ids: Iterable[str], existing: Iterable[BrokerAccount]) -> None:
    """Raise :class:`AccountConflict` if a device id is reserved, or is the username or bound
    client id of a service account (provisioning a device named ``ingest`` must not take over
    the ingest account)."""
    taken = set(RESERVED_NAMES)
    for account in existing:
        if account.kind != "device":
            taken.add(account.username)
            if account.client_id:
                taken.add(account.client_id)
    clashes = sorted(d for d in device_ids if d in taken or d.lower() in RESERVED_NAMES)
    if clashes:
        raise AccountConflict(
            f"device id(s) {', '.join(clashes)} collide with a reserved or service account name"
        )


def check_account_name(name: str) -> str:
    """``name`` if it is a valid account name, else :class:`ConfigurationError`."""
    if not ACCOUNT_NAME.match(name):
        raise ConfigurationError(
            f"invalid broker account name {name!r}: letters, digits, '_', '-' and '.', at most 64"
        )
    return name
