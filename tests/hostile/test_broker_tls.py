"""TLS on the device link, against the real broker started by `services up`: who is refused,
what a device with a client certificate may do, and the simulator → ingest path over TLS."""

from __future__ import annotations

import socket
import ssl
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode
from psycopg.rows import TupleRow

from ingest.credentials import issue_certificate, remove
from stayactive import services
from stayactive.broker_accounts import AccountConflict, DeviceCertificate
from stayactive.broker_accounts.local_ca import LocalCA
from stayactive.errors import ServiceError
from stayactive.mqtt import check_login, new_client, tls_context
from stayactive.paths import ServicePaths
from stayactive.services import mosquitto
from stayactive.settings import Settings
from tests.fixtures.ingest import IngestThread, count, stored_messages, worker_config
from tests.fixtures.messages import status_payload
from tests.fixtures.services import DeviceAccount, Schema, Subscriber
from tests.fixtures.streams import make_pump, offer_walks, wait_until

NOT_AUTHORIZED = 0x87


def _tls_settings(settings: Settings) -> Settings:
    """The same services, reached through the broker's TLS listener."""
    return settings.model_copy(update={"mqtt_url": f"mqtts://127.0.0.1:{settings.mqtt_tls_port}"})


@pytest.fixture
def cert_files(settings: Settings, tmp_path: Path) -> Callable[[DeviceCertificate], ssl.SSLContext]:
    """Factory: a TLS context that trusts the local broker's CA and presents ``cert``."""

    def make(cert: DeviceCertificate) -> ssl.SSLContext:
        folder = tmp_path / uuid.uuid4().hex[:6]
        folder.mkdir()
        (folder / "c.crt").write_bytes(cert.cert_pem)
        (folder / "c.key").write_bytes(cert.key_pem)
        context = tls_context(ServicePaths(settings.data_dir).mqtt_ca_cert)
        context.load_cert_chain(folder / "c.crt", folder / "c.key")
        return context

    return make


class _Device:
    """A paho client on one of the TLS listeners; records its CONNACK and disconnects."""

    def __init__(self, settings: Settings, port: int, context: ssl.SSLContext, **login: str):
        self.connack: str | None = None
        self.disconnected = threading.Event()
        self.connected = threading.Event()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=login.get("client_id", ""),
            protocol=MQTTProtocolVersion.MQTTv5,
            reconnect_on_failure=False,  # a device that is thrown out stays out
        )
        if "username" in login:
            self.client.username_pw_set(login["username"], login["password"])
        self.client.tls_set_context(context)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *a: self.disconnected.set()
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()

    def _on_connect(self, _c: object, _u: object, _f: object, rc: ReasonCode, _p: object) -> None:
        self.connack = str(rc)
        self.connected.set()

    def publish(self, topic: str, payload: bytes) -> int:
        """Publish QoS 1; the PUBACK's reason code (0: accepted, 0x87: not authorised)."""
        codes: list[int] = []
        done = threading.Event()

        def on_publish(_c: object, _u: object, _mid: int, rc: ReasonCode, _p: object) -> None:
            codes.append(int(rc.value))
            done.set()

        self.client.on_publish = on_publish
        self.client.publish(topic, payload, qos=1)
        assert done.wait(5), "no PUBACK within 5 s"
        return codes[0]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def tls_devices() -> Iterator[list[_Device]]:
    made: list[_Device] = []
    yield made
    for device in made:
        device.close()


def _refusal(port: int, context: ssl.SSLContext) -> str:
    """Shake hands with a TLS listener and send an MQTT CONNECT; return why the broker would
    not talk, or "" when it answered with a CONNACK. Plain sockets, so nothing is left open."""
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as sock,
            context.wrap_socket(sock, server_hostname="127.0.0.1") as tls,
        ):
            # TLS 1.3 finishes the client's side of the handshake before the broker has seen
            # the client's certificate: a refusal comes as an alert (or, when the broker is
            # quicker to close than to send it, as an EOF) on the first read.
            tls.sendall(_MQTT_CONNECT)
            answer = tls.recv(4)
            return "" if answer[:1] == b"\x20" else f"no CONNACK: {answer!r}"
    except (ssl.SSLError, ConnectionError) as exc:
        return str(exc) or type(exc).__name__


# MQTT 3.1.1 CONNECT, clean session, keep alive 60 s, client id "x" (the certificate port
# replaces it by the certificate's name), no username or password.
_MQTT_CONNECT = bytes.fromhex("100d00044d5154540402003c000178")
_REFUSED = ("unknown ca", "certificate required", "EOF occurred", "reset by peer")


def test_a_client_that_does_not_trust_the_local_ca_is_refused(
    settings: Settings, tmp_path: Path
) -> None:
    admin = ServicePaths(settings.data_dir).secret("mqtt_admin_password")
    assert admin is not None
    port = settings.mqtt_tls_port
    # The system's CAs (what a client gets by default) do not vouch for the local broker.
    assert "certificate verify failed" in _refusal(port, ssl.create_default_context())
    # Nor does a CA of another installation, with the very same names.
    other = LocalCA(ServicePaths(tmp_path))
    other.ensure(["localhost", "127.0.0.1"])
    with pytest.raises(ServiceError, match="certificate verify failed"):
        check_login("127.0.0.1", port, "stayactive-admin", admin, ca_file=other.ca_cert_path)
    # The local CA does (the same login, so the refusals above were the certificate's).
    local_ca = ServicePaths(settings.data_dir).mqtt_ca_cert
    check_login("127.0.0.1", port, "stayactive-admin", admin, ca_file=local_ca)


def test_client_certificates_not_signed_by_the_local_ca_are_refused(
    settings: Settings,
    device_account: Callable[[], DeviceAccount],
    cert_files: Callable[[DeviceCertificate], ssl.SSLContext],
    tls_devices: list[_Device],
    tmp_path: Path,
) -> None:
    account = device_account()
    foreign = LocalCA(ServicePaths(tmp_path))  # a CA of its own, same names and device id
    foreign.ensure(["localhost"])
    forged = cert_files(foreign.issue_client(account.device_id))
    local_ca = ServicePaths(settings.data_dir).mqtt_ca_cert
    for context in (forged, tls_context(local_ca)):  # a forged certificate, and none at all
        why = _refusal(settings.mqtt_cert_port, context)
        assert any(text in why for text in _REFUSED), why
    # The same device's own certificate gets a CONNACK there: the refusals were the forgery's.
    own = cert_files(issue_certificate(services.broker_accounts(settings), account.device_id))
    assert _refusal(settings.mqtt_cert_port, own) == ""
    # With its password the same device gets in on the password listener: the refusals above
    # were the certificates'.
    device = _Device(
        settings, settings.mqtt_tls_port, tls_context(local_ca), client_id=account.device_id,
        username=account.device_id, password=account.password,
    )  # fmt: skip
    tls_devices.append(device)
    assert device.connected.wait(5) and device.connack == "Success"


def test_a_device_with_a_certificate_is_itself_and_nobody_else(
    settings: Settings,
    device_account: Callable[[], DeviceAccount],
    service_account: Callable[[], DeviceAccount],
    ingest_subscriber: Callable[[str], Subscriber],
    cert_files: Callable[[DeviceCertificate], ssl.SSLContext],
    tls_devices: list[_Device],
) -> None:
    account, other = device_account(), device_account()
    accounts = services.broker_accounts(settings)
    context = cert_files(issue_certificate(accounts, account.device_id))
    sub = ingest_subscriber("stayactive/v1/+/status")
    service = service_account()  # an ingest-like session the device will try to take
    watched = new_client(service.device_id, service.device_id, service.password)
    kicked = threading.Event()
    watched.on_disconnect = lambda *a: kicked.set()
    watched.connect(*settings.mqtt_host_port())
    watched.loop_start()
    # It asks for the service's client id, then another device's: the broker gives it its own
    # (the certificate's name) either way, so neither session is taken over.
    for asked in (service.device_id, other.device_id):
        device = _Device(settings, settings.mqtt_cert_port, context, client_id=asked)
        tls_devices.append(device)
        assert device.connected.wait(5) and device.connack == "Success"
        assert device.publish(f"stayactive/v1/{account.device_id}/status", status_payload(
            account.device_id, 1)) == 0  # fmt: skip
        assert device.publish(
            f"stayactive/v1/{other.device_id}/status", status_payload(other.device_id, 1)
        ) == NOT_AUTHORIZED  # fmt: skip
    assert not kicked.wait(1), "the service account lost its session"
    watched.disconnect()
    watched.loop_stop()
    # Two devices on one client id: the second took over the first, its own, session.
    assert tls_devices[0].disconnected.wait(5)
    mine = {f"stayactive/v1/{d.device_id}/status": d for d in (account, other)}
    wait_until(lambda: sum(m.topic in mine for m in sub.messages) >= 2, 5, "two statuses")
    assert {m.topic for m in sub.messages if m.topic in mine} == {
        f"stayactive/v1/{account.device_id}/status"
    }
    # Only devices get certificates.
    with pytest.raises(AccountConflict):
        issue_certificate(accounts, "stayactive-admin")


@pytest.mark.parametrize("how", ["disabled", "deleted"])
def test_a_deactivated_certificate_device_keeps_no_rights(
    settings: Settings,
    device_account: Callable[[], DeviceAccount],
    ingest_subscriber: Callable[[str], Subscriber],
    cert_files: Callable[[DeviceCertificate], ssl.SSLContext],
    tls_devices: list[_Device],
    how: str,
) -> None:
    """The account disabled (the interface's ``set_enabled``) or deleted (what `devices
    deactivate` and the API do, ``ingest.credentials.remove``): the device with a client
    certificate is closed out, and what it publishes after is refused."""
    account = device_account()
    accounts = services.broker_accounts(settings)
    context = cert_files(issue_certificate(accounts, account.device_id))
    sub = ingest_subscriber("stayactive/v1/+/status")
    device = _Device(settings, settings.mqtt_cert_port, context, client_id=account.device_id)
    tls_devices.append(device)
    assert device.connected.wait(5)
    if how == "disabled":
        accounts.set_enabled(account.device_id, False)
    else:
        remove(settings, [account.device_id], accounts=accounts)
    assert device.disconnected.wait(5), "the open connection was not closed"
    device.close()
    # Mosquitto 2.0.21 lets a certificate through CONNECT without asking the plugin, so the
    # device gets in again, but without its role it may do nothing.
    again = _Device(settings, settings.mqtt_cert_port, context, client_id=account.device_id)
    tls_devices.append(again)
    assert again.connected.wait(5)
    topic = f"stayactive/v1/{account.device_id}/status"
    assert again.publish(topic, status_payload(account.device_id, 2)) == NOT_AUTHORIZED
    assert [m for m in sub.messages if m.topic == topic] == []
    if how == "disabled":
        accounts.set_enabled(account.device_id, True)  # and back: the role returns
        third = _Device(settings, settings.mqtt_cert_port, context, client_id=account.device_id)
        tls_devices.append(third)
        assert third.connected.wait(5)
        assert third.publish(topic, status_payload(account.device_id, 3)) == 0


def test_simulator_to_ingest_over_tls_loses_nothing(
    schema: Schema,
    conn: psycopg.Connection[TupleRow],
    devices: Callable[..., dict[str, DeviceAccount]],
    cert_files: Callable[[DeviceCertificate], ssl.SSLContext],
    tls_devices: list[_Device],
) -> None:
    over_tls = _tls_settings(schema.settings)
    accounts = devices(3)
    config = worker_config()
    mosquitto.ensure_worker_account(schema.settings, config.client_id)
    running = IngestThread(over_tls, config).start()  # ingest itself connects over TLS
    try:
        pump = make_pump(over_tls, accounts)  # mqtts:// in the settings: the devices use TLS
        now_s = datetime.now(UTC).timestamp()
        pump.connect(list(accounts), now_s)
        offer_walks(pump, walk_s=60, start_s=now_s - 300, seed=3)
        pump.drain(timeout_s=60)
        pump.close()
        assert pump.log.messages
        wait_until(lambda: stored_messages(conn) == pump.log.messages, 30, "all stored")
        # A device with a certificate instead of a password, on the certificate listener.
        cert_device = next(iter(accounts))
        context = cert_files(issue_certificate(services.broker_accounts(schema.settings),
                                               cert_device))  # fmt: skip
        device = _Device(schema.settings, schema.settings.mqtt_cert_port, context)
        tls_devices.append(device)
        assert device.connected.wait(5)
        before = count(conn, "device_status", device_id=cert_device)
        topic = f"stayactive/v1/{cert_device}/status"
        assert device.publish(topic, status_payload(cert_device, 10**6)) == 0  # a seq of its own
        wait_until(lambda: count(conn, "device_status", device_id=cert_device) == before + 1, 30)
    finally:
        running.stop()
        running.forget_session()
        mosquitto.remove_worker_account(schema.settings, config.client_id)
