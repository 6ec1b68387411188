"""Shared fixtures: real TimescaleDB and Mosquitto, started by `stayactive services up`.

Integration tests get a fresh schema of their own in the `stayactive_test` database (migrated
from scratch, dropped afterwards) and clients logged in to the real broker.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
import pytest
from psycopg import sql
from psycopg.rows import TupleRow

from ingest import WorkerConfig, end_session
from stayactive import db, registry, services
from stayactive.mqtt import new_client
from stayactive.registry import NewDevice
from stayactive.services import mosquitto
from stayactive.services.postgres import ensure_database
from stayactive.settings import Settings
from stayactive.tools.demo import demo_files
from tests.fixtures.ingest import IngestProcess, IngestThread, worker_config
from tests.fixtures.services import DeviceAccount, Schema, Subscriber

#: Shared fixtures of their own modules (the browser tests' headless Chromium).
pytest_plugins = ["tests.fixtures.browser"]

TEST_DATABASE = "stayactive_test"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the real services as `integration`."""
    for item in items:
        if "settings" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def settings() -> Settings:
    """Settings pointing at the test database; fails clearly when the services are down."""
    base = Settings(database_name=TEST_DATABASE)
    state = services.status(base.model_copy(update={"database_name": "postgres"}))
    if not (state.database.running and state.broker.running):
        pytest.fail(
            "the services are not running: `make test` starts them, or run "
            f"`stayactive services up` (database: {state.database.error}, "
            f"broker: {state.broker.error})"
        )
    demo = demo_files(base).running_elsewhere()
    if demo is not None:
        pytest.fail(
            f"`stayactive demo` is running on these services ({demo}): its devices publish on "
            "the broker the tests use, and the tests count what arrives. Stop it (Ctrl-C), or "
            "give the tests services of their own (another STAYACTIVE_DATA_DIR and ports)."
        )
    ensure_database(base, TEST_DATABASE)
    return base


def _drop_schema(settings: Settings, name: str) -> None:
    with db.connect(settings, schema="public", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture
def empty_schema(settings: Settings) -> Iterator[Schema]:
    """A schema name of one's own, not yet migrated; dropped afterwards."""
    name = "t_" + uuid.uuid4().hex[:16]
    try:
        yield Schema(settings.model_copy(update={"database_schema": name}), name)
    finally:
        _drop_schema(settings, name)


@pytest.fixture
def schema(empty_schema: Schema) -> Schema:
    """A freshly migrated schema of one's own."""
    db.migrate(empty_schema.settings, schema=empty_schema.name)
    return empty_schema


@pytest.fixture
def conn(schema: Schema) -> Iterator[psycopg.Connection[TupleRow]]:
    """An autocommit connection with the test's schema on the search path."""
    with schema.connect() as connection:
        yield connection


def _connect(client: mqtt.Client, settings: Settings) -> None:
    connected = threading.Event()
    client.on_connect = lambda *args: connected.set()
    host, port = settings.mqtt_host_port()
    client.connect(host, port, keepalive=30)
    client.loop_start()
    if not connected.wait(5):
        raise AssertionError("the broker did not answer CONNECT within 5 s")


@pytest.fixture
def service_account(settings: Settings) -> Iterator[Callable[[], DeviceAccount]]:
    """Factory: a service account with the ingest role, bound to client id = its name."""
    made: list[str] = []

    def make() -> DeviceAccount:
        name = "test-svc-" + uuid.uuid4().hex[:8]
        password = mosquitto.ensure_worker_account(settings, name)
        made.append(name)
        return DeviceAccount(name, password)

    yield make
    for name in made:
        mosquitto.remove_worker_account(settings, name)


@pytest.fixture
def ingest_subscriber(
    settings: Settings, service_account: Callable[[], DeviceAccount]
) -> Iterator[Callable[[str], Subscriber]]:
    """Factory: a subscriber logged in with a service account of the ingest role on ``topic``."""
    made: list[Subscriber] = []

    def make(topic: str) -> Subscriber:
        account = service_account()
        client = new_client(account.device_id, account.device_id, account.password)
        sub = Subscriber(client)

        def on_message(_c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
            with sub.arrived:
                sub.messages.append(message)
                sub.arrived.notify_all()

        client.on_message = on_message
        _connect(client, settings)
        subscribed = threading.Event()
        client.on_subscribe = lambda *args: subscribed.set()
        client.subscribe(topic, qos=1)
        assert subscribed.wait(5), "no SUBACK within 5 s"
        made.append(sub)
        return sub

    yield make
    for sub in made:
        sub.client.disconnect()
        sub.client.loop_stop()


@pytest.fixture
def device_account(settings: Settings) -> Iterator[Callable[[], DeviceAccount]]:
    """Factory: a fresh device account on the real broker, removed afterwards."""
    broker = services.broker_accounts(settings)
    made: list[str] = []

    def make() -> DeviceAccount:
        account = DeviceAccount("T-" + uuid.uuid4().hex[:10], secrets.token_urlsafe(16))
        broker.create_devices({account.device_id: account.password})
        made.append(account.device_id)
        return account

    yield make
    if made:
        broker.remove(made)


@pytest.fixture
def device_client(settings: Settings) -> Iterator[Callable[[DeviceAccount], mqtt.Client]]:
    """Factory: an MQTT client connected as the given device."""
    made: list[mqtt.Client] = []

    made_for: list[str] = []

    def make(account: DeviceAccount) -> mqtt.Client:
        client = new_client(account.device_id, account.device_id, account.password)
        _connect(client, settings)
        made.append(client)
        made_for.append(account.device_id)
        return client

    yield make
    for client, device_id in zip(made, made_for, strict=True):
        # A test's retained status must not reach the next test's ingest worker.
        client.publish(
            f"stayactive/v1/{device_id}/status", b"", qos=1, retain=True
        ).wait_for_publish(5)
        client.disconnect()
        client.loop_stop()


@pytest.fixture
def ingest_worker(schema: Schema) -> Iterator[Callable[..., IngestThread]]:
    """Factory: a running ingest worker on the test's schema (stopped and forgotten afterwards)."""
    made: list[IngestThread] = []

    def make(**overrides: object) -> IngestThread:
        config = worker_config(**overrides)
        mosquitto.ensure_worker_account(schema.settings, config.client_id)
        running = IngestThread(schema.settings, config).start()
        made.append(running)
        return running

    yield make
    for running in made:
        running.stop()
        running.forget_session()
    for client_id in {running.config.client_id for running in made}:
        mosquitto.remove_worker_account(schema.settings, client_id)


@pytest.fixture
def ingest_process(schema: Schema, tmp_path: Path) -> Iterator[Callable[..., IngestProcess]]:
    """Factory: `stayactive ingest run` as a separate process on the test's schema, returned
    once its /health answers 200 (so it is subscribed); killed and its session forgotten
    afterwards."""
    made: list[tuple[IngestProcess, WorkerConfig]] = []

    def start(config: WorkerConfig) -> IngestProcess:
        log = tmp_path / f"ingest-{len(made)}.log"
        running = IngestProcess.start(schema.settings, config, log)
        made.append((running, config))
        running.wait_healthy()
        return running

    yield start
    for running, _config in made:
        running.kill()
    for _running, config in made:
        end_session(schema.settings, config.client_id)
    for client_id in {config.client_id for _running, config in made}:
        mosquitto.remove_worker_account(schema.settings, client_id)


@pytest.fixture
def devices(
    schema: Schema, settings: Settings
) -> Iterator[Callable[..., dict[str, DeviceAccount]]]:
    """Factory: register devices of tenant ``test`` in the test's schema, with broker accounts."""
    broker = services.broker_accounts(settings)
    made: list[str] = []

    def make(n: int = 1, kind: str = "walker") -> dict[str, DeviceAccount]:
        accounts = {}
        for _ in range(n):
            prefix = "W" if kind == "walker" else "R"
            account = DeviceAccount(f"{prefix}-{uuid.uuid4().hex[:10]}", secrets.token_urlsafe(16))
            accounts[account.device_id] = account
        with schema.connect() as conn:
            registry.ensure_tenant(conn, "test", "Test municipality")
            registry.upsert_devices(conn, "test", [NewDevice(d, kind, "SN-" + d) for d in accounts])
        broker.create_devices({a.device_id: a.password for a in accounts.values()})
        made.extend(accounts)
        return accounts

    yield make
    if made:
        broker.remove(made)
