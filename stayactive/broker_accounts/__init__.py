"""Broker accounts: the interface provisioning uses, and the local Mosquitto's implementation.

* :class:`BrokerAccounts` (the interface, ``_interface.py``) with :class:`BrokerAccount`,
  :class:`DeviceCertificate`, :class:`AccountConflict` and the name rules.
* :mod:`stayactive.broker_accounts.dynsec`: :class:`~.dynsec.DynsecAccounts`, the interface on
  Mosquitto's dynamic-security plugin (a client of its ``$CONTROL`` topic).
* :mod:`stayactive.broker_accounts.local_ca`: the local broker's certificate authority, which
  signs the broker's server certificate and the devices' client certificates.
* :func:`for_settings`: the implementation for the settings' broker.

Installing and starting the broker is not here but in :mod:`stayactive.services.mosquitto`;
this package only talks to a running broker, so the API and ingest may use it.
"""

from __future__ import annotations

from stayactive.broker_accounts._interface import (
    ACCOUNT_NAME,
    RESERVED_NAMES,
    AccountConflict,
    AccountKind,
    BrokerAccount,
    BrokerAccounts,
    DeviceCertificate,
    check_account_name,
    refuse_reserved,
)
from stayactive.errors import ConfigurationError
from stayactive.settings import Settings

__all__ = [
    "ACCOUNT_NAME",
    "RESERVED_NAMES",
    "AccountConflict",
    "AccountKind",
    "BrokerAccount",
    "BrokerAccounts",
    "DeviceCertificate",
    "check_account_name",
    "for_settings",
    "refuse_reserved",
]


def for_settings(settings: Settings) -> BrokerAccounts:
    """The broker-account implementation for the settings' broker: the local Mosquitto's
    dynamic security (its admin password from the data directory). Another broker needs its own
    implementation (docs/operations.md, "Scaling" describes EMQX's); until then its accounts are
    made on that broker."""
    if not settings.uses_local_broker:
        raise ConfigurationError(
            "no broker-account implementation for STAYACTIVE_MQTT_URL's broker yet: create the "
            "device accounts on that broker (docs/operations.md, 'Scaling')"
        )
    from stayactive.broker_accounts import dynsec  # it imports this package's interface

    return dynsec.local_accounts(settings)
