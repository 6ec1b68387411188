"""The local broker's certificate authority: a CA, the broker's server certificate, and client
certificates for devices, made with the ``cryptography`` package.

Files, in ``<data dir>/mosquitto/tls`` (see :class:`~stayactive.paths.ServicePaths`):

* ``ca.key`` (0600, kept by whoever runs ``services up``; it never leaves this directory) and
  ``ca.crt`` (0644: public, every client that checks the broker needs it);
* ``server.key`` and ``server.crt`` (0600, owned by the broker's user ``mosquitto``).

Keys are ECDSA P-256. The CA is valid for 10 years and its certificate is re-signed with the
same key and name when less than a year is left, so device certificates it signed stay valid.
The server certificate is valid for 397 days and is renewed when less than 30 are left, when its
names no longer match, or when the CA changed: ``services up`` checks on every start.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
import socket
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from stayactive.broker_accounts._interface import DeviceCertificate
from stayactive.errors import ConfigurationError
from stayactive.paths import ServicePaths

log = logging.getLogger(__name__)

CA_DAYS = 3650
CA_RENEW_DAYS = 365
SERVER_DAYS = 397  # what browsers accept for a TLS server certificate; clients do not care
SERVER_RENEW_DAYS = 30
CLIENT_DAYS = 825
_ORGANISATION = "StayActive local broker"
_BACKDATE = dt.timedelta(minutes=5)  # a device whose clock is a little behind still accepts it


def default_hostnames() -> list[str]:
    """Names the server certificate covers: loopback and this machine's names."""
    names = ["localhost", "127.0.0.1", "::1", socket.gethostname(), socket.getfqdn()]
    return list(dict.fromkeys(n for n in names if n))


class LocalCA:
    """The CA in a data directory; :meth:`ensure` creates or renews what is due."""

    def __init__(self, paths: ServicePaths) -> None:
        self.dir = paths.mqtt_tls_dir
        self.ca_key_path = self.dir / "ca.key"
        self.ca_cert_path = paths.mqtt_ca_cert
        self.server_key_path = self.dir / "server.key"
        self.server_cert_path = self.dir / "server.crt"

    # --- services up ------------------------------------------------------------------------

    def ensure(self, hostnames: Iterable[str], *, now: dt.datetime | None = None) -> bool:
        """Create the CA and the server certificate, or renew them when due (module doc).
        Returns True when the server certificate changed (the broker must restart)."""
        now = now or dt.datetime.now(dt.UTC)
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o755)
        key = self._ca_key()
        ca = self._ca_cert(key, now)
        names = list(dict.fromkeys(hostnames))
        if not self._server_is_current(ca, names, now):
            self._issue_server(key, ca, names, now)
            return True
        return False

    def _ca_key(self) -> ec.EllipticCurvePrivateKey:
        if self.ca_key_path.exists():
            loaded = serialization.load_pem_private_key(self.ca_key_path.read_bytes(), None)
            if not isinstance(loaded, ec.EllipticCurvePrivateKey):
                raise ConfigurationError(f"{self.ca_key_path} is not an EC key")
            return loaded
        key = ec.generate_private_key(ec.SECP256R1())
        _write(self.ca_key_path, _key_pem(key), 0o600)
        log.info("created the local CA key %s", self.ca_key_path)
        return key

    def _ca_cert(self, key: ec.EllipticCurvePrivateKey, now: dt.datetime) -> x509.Certificate:
        if self.ca_cert_path.exists():
            cert = x509.load_pem_x509_certificate(self.ca_cert_path.read_bytes())
            if (
                cert.public_key() == key.public_key()
                and cert.not_valid_after_utc - now > dt.timedelta(days=CA_RENEW_DAYS)
            ):
                return cert
            log.info("renewing the local CA certificate (same key: issued certificates stay valid)")
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORGANISATION),
                x509.NameAttribute(NameOID.COMMON_NAME, "StayActive local CA"),
            ]
        )
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + dt.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(ca=True), critical=True)
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256())
        )
        _write(self.ca_cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
        return cert

    def _server_is_current(self, ca: x509.Certificate, names: list[str], now: dt.datetime) -> bool:
        if not (self.server_cert_path.exists() and self.server_key_path.exists()):
            return False
        cert = x509.load_pem_x509_certificate(self.server_cert_path.read_bytes())
        if cert.issuer != ca.subject or not _signed_by(cert, ca):
            return False
        if cert.not_valid_after_utc - now < dt.timedelta(days=SERVER_RENEW_DAYS):
            return False
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        return set(_san_strings(san)) == set(names)

    def _issue_server(
        self,
        ca_key: ec.EllipticCurvePrivateKey,
        ca: x509.Certificate,
        names: list[str],
        now: dt.datetime,
    ) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        entries: list[x509.GeneralName] = []
        for name in names:
            try:
                entries.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                entries.append(x509.DNSName(name))
        cert = (
            self._leaf(ca_key, ca, key, names[0], now, SERVER_DAYS, ExtendedKeyUsageOID.SERVER_AUTH)
            .add_extension(x509.SubjectAlternativeName(entries), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        _write(self.server_key_path, _key_pem(key), 0o600)
        _write(self.server_cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o600)
        log.info("issued the broker's server certificate for %s", ", ".join(names))

    # --- devices ----------------------------------------------------------------------------

    def issue_client(self, common_name: str, *, days: int = CLIENT_DAYS) -> DeviceCertificate:
        """A client certificate with ``common_name`` (the device id: the broker's certificate
        listener takes it as username and client id), signed by this CA."""
        if not self.ca_key_path.exists() or not self.ca_cert_path.exists():
            raise ConfigurationError(
                f"no local CA in {self.dir}: run `stayactive services up` first"
            )
        ca_key = self._ca_key()
        ca = x509.load_pem_x509_certificate(self.ca_cert_path.read_bytes())
        now = dt.datetime.now(dt.UTC)
        key = ec.generate_private_key(ec.SECP256R1())
        cert = self._leaf(
            ca_key, ca, key, common_name, now, days, ExtendedKeyUsageOID.CLIENT_AUTH
        ).sign(ca_key, hashes.SHA256())
        return DeviceCertificate(
            device_id=common_name,
            cert_pem=cert.public_bytes(serialization.Encoding.PEM),
            key_pem=_key_pem(key),
            ca_pem=ca.public_bytes(serialization.Encoding.PEM),
            not_after=cert.not_valid_after_utc,
        )

    @staticmethod
    def _leaf(
        ca_key: ec.EllipticCurvePrivateKey,
        ca: x509.Certificate,
        key: ec.EllipticCurvePrivateKey,
        common_name: str,
        now: dt.datetime,
        days: int,
        usage: x509.ObjectIdentifier,
    ) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(
                x509.Name(
                    [
                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORGANISATION),
                        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                    ]
                )
            )
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(min(now + dt.timedelta(days=days), ca.not_valid_after_utc))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(ca=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
        )


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    """A CA signs certificates (and revocation lists); a leaf signs its TLS handshakes (ECDSA)
    and agrees keys."""
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=not ca,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _signed_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _san_strings(san: x509.SubjectAlternativeName) -> list[str]:
    return [str(v) for v in san.get_values_for_type(x509.DNSName)] + [
        str(v) for v in san.get_values_for_type(x509.IPAddress)
    ]


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write through a temporary file created with ``mode``, then rename: a reader never sees
    half a key, and a key is never readable by others, not even for a moment."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, mode)  # the umask may have taken bits off
    os.replace(tmp, path)
