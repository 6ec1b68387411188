"""The local CA: what it writes, with which modes, and when it renews."""

from __future__ import annotations

import datetime as dt
import os
import pwd
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from stayactive.broker_accounts import local_ca as tls
from stayactive.broker_accounts.local_ca import LocalCA
from stayactive.errors import ConfigurationError
from stayactive.paths import ServicePaths
from stayactive.services import mosquitto
from stayactive.settings import Settings, load_settings

NAMES = ["localhost", "127.0.0.1", "::1", "broker.example"]


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_ensure_writes_a_ca_and_a_server_certificate_for_the_names(tmp_path: Path) -> None:
    ca = LocalCA(ServicePaths(tmp_path))
    assert ca.ensure(NAMES) is True
    assert (_mode(ca.ca_key_path), _mode(ca.server_key_path)) == (0o600, 0o600)
    assert (_mode(ca.server_cert_path), _mode(ca.ca_cert_path)) == (0o600, 0o644)
    root, server = _cert(ca.ca_cert_path), _cert(ca.server_cert_path)
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    server.verify_directly_issued_by(root)
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(map(str, san.get_values_for_type(x509.DNSName))) == [
        "broker.example",
        "localhost",
    ]
    assert sorted(map(str, san.get_values_for_type(x509.IPAddress))) == ["127.0.0.1", "::1"]
    usage = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert ca.ensure(NAMES) is False  # nothing due: the broker keeps running
    assert ca.ensure([*NAMES, "other.example"]) is True  # a new name: a new certificate


def test_the_server_certificate_is_renewed_30_days_before_it_expires(tmp_path: Path) -> None:
    ca = LocalCA(ServicePaths(tmp_path))
    ca.ensure(NAMES)
    first = _cert(ca.server_cert_path)
    days_left = (first.not_valid_after_utc - dt.datetime.now(dt.UTC)).days
    assert 390 <= days_left <= tls.SERVER_DAYS
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=days_left - 31)
    assert ca.ensure(NAMES, now=soon) is False
    assert ca.ensure(NAMES, now=soon + dt.timedelta(days=2)) is True
    assert _cert(ca.server_cert_path).serial_number != first.serial_number


def test_a_renewed_ca_keeps_its_key_so_issued_device_certificates_stay_valid(
    tmp_path: Path,
) -> None:
    ca = LocalCA(ServicePaths(tmp_path))
    ca.ensure(NAMES)
    device = ca.issue_client("W-0001")
    old_root = _cert(ca.ca_cert_path)
    late = old_root.not_valid_after_utc - dt.timedelta(days=tls.CA_RENEW_DAYS - 1)
    assert ca.ensure(NAMES, now=late) is True  # new CA certificate, so a new server one too
    new_root = _cert(ca.ca_cert_path)
    assert new_root.serial_number != old_root.serial_number
    assert new_root.not_valid_after_utc > old_root.not_valid_after_utc
    x509.load_pem_x509_certificate(device.cert_pem).verify_directly_issued_by(new_root)


def test_a_device_certificate_names_the_device_and_is_for_clients(tmp_path: Path) -> None:
    ca = LocalCA(ServicePaths(tmp_path))
    ca.ensure(NAMES)
    issued = ca.issue_client("W-0001")
    cert = x509.load_pem_x509_certificate(issued.cert_pem)
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == "W-0001" and issued.device_id == "W-0001"
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    cert.verify_directly_issued_by(_cert(ca.ca_cert_path))
    assert issued.ca_pem == ca.ca_cert_path.read_bytes()
    assert b"PRIVATE KEY" in issued.key_pem


def test_a_device_certificate_does_not_print_its_private_key(tmp_path: Path) -> None:
    # A repr ends up in logs and tracebacks; the key must only ever be written to its file.
    ca = LocalCA(ServicePaths(tmp_path))
    ca.ensure(NAMES)
    issued = ca.issue_client("W-0001")
    shown = repr(issued) + str(issued)
    assert "W-0001" in shown
    assert "PRIVATE KEY" not in shown and issued.key_pem.decode() not in shown


def test_no_device_certificate_without_a_ca(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="services up"):
        LocalCA(ServicePaths(tmp_path)).issue_client("W-0001")


def test_the_local_brokers_keys_are_private_and_the_brokers_own(settings: Settings) -> None:
    ca = LocalCA(ServicePaths(settings.data_dir))
    assert _mode(ca.server_key_path) == _mode(ca.ca_key_path) == 0o600
    if os.geteuid() == 0:  # services up as root: the broker runs as user mosquitto
        broker = pwd.getpwnam("mosquitto").pw_uid
        assert ca.server_key_path.stat().st_uid == broker
        assert ca.ca_key_path.stat().st_uid != broker  # the broker cannot sign certificates


@pytest.mark.parametrize(
    ("told", "host"),
    [
        ({"mqtt_tls_bind": "192.0.2.10"}, "192.0.2.10"),
        ({"device_broker_url": "mqtts://mqtt.kommune.example:8884"}, "mqtt.kommune.example"),
    ],
)
def test_the_server_certificate_covers_the_host_devices_are_told(
    tmp_path: Path, told: dict[str, str], host: str
) -> None:
    """A device checks the broker's certificate against the host in its credentials
    (``Settings.device_broker``): an interface's address or the operator's name must be in it."""
    settings = load_settings(**told)
    assert settings.device_broker()[0] == host
    ca = LocalCA(ServicePaths(tmp_path))
    ca.ensure(mosquitto.server_hostnames(settings))
    san = (
        _cert(ca.server_cert_path)
        .extensions.get_extension_for_class(x509.SubjectAlternativeName)
        .value
    )
    assert host in tls._san_strings(san)
    # An external broker (STAYACTIVE_MQTT_URL) has its own certificate: nothing is added.
    external = load_settings(mqtt_url="mqtts://broker.example", **told)
    assert mosquitto.server_hostnames(external) == tls.default_hostnames()
