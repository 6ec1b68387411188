"""The ingest worker: MQTT in, TimescaleDB out, acknowledgement only after commit.

Threads: paho's network thread receives messages and puts them on a bounded queue; the worker
thread takes batches (by size or age, whichever first), validates, writes them in one
transaction and only then acknowledges them, in arrival order. The broker never has more than
``receive_maximum`` unacknowledged messages in flight to us (MQTT 5 flow control), so the queue
stays bounded and the backlog stays in the broker. A database error stops acknowledging: the
batch is retried with capped back-off until it commits, and nothing is lost because whatever is
unacknowledged is redelivered. After a reconnect, messages of the old connection are not
acknowledged (their packet ids may have been reused); the broker redelivers them and the
idempotent inserts store them once.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from psycopg.rows import TupleRow

from ingest import store
from ingest.messages import Accepted, Received, Reject, RobotEvent, Status, WalkerTelemetry
from ingest.metrics import IngestMetrics
from ingest.registry import DeviceRegistry
from ingest.validate import validate
from stayactive import db
from stayactive.errors import StorageUnavailable
from stayactive.settings import Settings

log = logging.getLogger(__name__)

DEVICE_TOPICS = "stayactive/v1/+/+"
_TRANSIENT = (psycopg.OperationalError, psycopg.InterfaceError, StorageUnavailable)


@dataclass(frozen=True)
class WorkerConfig:
    """Tuning of one worker; the defaults suit a municipality on one machine."""

    client_id: str = "ingest-1"
    share_group: str = "ingest"
    # How long the broker keeps queueing for this worker while it is away.
    session_expiry_s: int = 7 * 24 * 3600
    batch_max_messages: int = 500
    batch_max_age_s: float = 0.2
    receive_maximum: int = 2000
    backoff_max_s: float = 10.0


@dataclass(frozen=True)
class _Token:
    generation: int
    mid: int
    qos: int


class IngestWorker:
    """One ingest worker process's logic; ``run`` blocks until ``stop`` is set."""

    def __init__(
        self,
        settings: Settings,
        config: WorkerConfig | None = None,
        metrics: IngestMetrics | None = None,
        *,
        connect: Callable[[], psycopg.Connection[TupleRow]] | None = None,
    ) -> None:
        self.settings = settings
        self.config = config or WorkerConfig()
        self.metrics = metrics or IngestMetrics()
        self._connect = connect or (lambda: db.connect(settings, autocommit=True))
        self._queue: queue.Queue[Received] = queue.Queue(maxsize=self.config.receive_maximum + 100)
        self._generation = 0
        self._conn: psycopg.Connection[TupleRow] | None = None
        self._retention = timedelta(days=settings.raw_retention_days)
        self._registry = DeviceRegistry(self._connection)
        self._client = self._make_client()
        #: Set once the subscription is in place (tests and the benchmark wait for it).
        self.subscribed = threading.Event()

    # --- MQTT side (paho's network thread) ------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.config.client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=True,
        )
        client.username_pw_set(self.settings.mqtt_ingest_username, self.settings.ingest_password())
        client.reconnect_delay_set(min_delay=1, max_delay=int(self.config.backoff_max_s))
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = lambda *_args: self.subscribed.set()
        return client

    def _on_connect(
        self, client: mqtt.Client, _u: object, flags: object, reason: ReasonCode, _p: object
    ) -> None:
        if reason.is_failure:
            log.error("broker refused the ingest login: %s", reason)
            return
        self._generation += 1
        self.metrics.set_reachable("broker", True)
        log.info(
            "connected to the broker (session present: %s)", getattr(flags, "session_present", "?")
        )
        client.subscribe(f"$share/{self.config.share_group}/{DEVICE_TOPICS}", qos=1)

    def _on_disconnect(
        self, _c: mqtt.Client, _u: object, _f: object, reason: ReasonCode, _p: object
    ) -> None:
        self.metrics.set_reachable("broker", False)
        log.warning("disconnected from the broker: %s; paho reconnects", reason)

    def _on_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        props = message.properties
        content_type = getattr(props, "ContentType", None) if props is not None else None
        self._queue.put(
            Received(
                topic=message.topic,
                payload=bytes(message.payload),
                received_at=datetime.now(UTC),
                content_type=content_type,
                token=_Token(self._generation, message.mid, message.qos),
            )
        )
        self.metrics.queue_depth.set(self._queue.qsize())

    # --- worker side ----------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Connect, then consume until ``stop`` is set; the batch in hand is finished first."""
        host, port = self.settings.mqtt_host_port()
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self.config.session_expiry_s
        props.ReceiveMaximum = self.config.receive_maximum
        self._client.connect_async(host, port, keepalive=30, clean_start=False, properties=props)
        self._client.loop_start()
        try:
            while not stop.is_set():
                batch = self._take_batch(stop)
                if batch:
                    self._process(batch, stop)
        finally:
            self._client.disconnect()
            self._client.loop_stop()
            if self._conn is not None:
                self._conn.close()
            log.info("ingest worker stopped")

    def _take_batch(self, stop: threading.Event) -> list[Received]:
        try:
            first = self._queue.get(timeout=0.5)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.config.batch_max_age_s
        while len(batch) < self.config.batch_max_messages and not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(self._queue.get(timeout=remaining))
            except queue.Empty:
                break
        return batch

    def _connection(self) -> psycopg.Connection[TupleRow]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            conn = self._connect()
            store.prepare(conn)
            self._conn = conn
            self.metrics.set_reachable("database", True)
        return self._conn

    def _process(self, batch: list[Received], stop: threading.Event) -> None:
        """Validate and store ``batch`` (retrying while the database is away), then acknowledge."""
        backoff_s = 0.5
        while True:
            try:
                started = time.monotonic()
                result = self._store(batch)
                self.metrics.commit_seconds.observe(time.monotonic() - started)
                break
            except _TRANSIENT as exc:
                self.metrics.set_reachable("database", False)
                self.metrics.storage_retries.inc()
                if self._conn is not None:
                    self._conn.close()
                log.warning(
                    "database unavailable (%s); retrying in %.1f s", str(exc).strip(), backoff_s
                )
                if stop.wait(backoff_s):
                    log.info(
                        "stopping with an uncommitted batch of %d: not acknowledged", len(batch)
                    )
                    return
                backoff_s = min(backoff_s * 2, self.config.backoff_max_s)
        self._acknowledge(batch)
        self._count(batch, *result)

    def _store(
        self, batch: list[Received]
    ) -> tuple[list[Accepted], list[Reject], store.StoreResult]:
        accepted: list[tuple[Received, Accepted]] = []
        rejects: list[Reject] = []
        for message in batch:
            outcome = validate(message, self._registry.lookup, retention=self._retention)
            if isinstance(outcome, Reject):
                rejects.append(outcome)
            else:
                accepted.append((message, outcome))
        conn = self._connection()
        items = [item for _, item in accepted]
        try:
            result = store.write_batch(conn, items, rejects)
        except _TRANSIENT:
            raise
        except psycopg.Error as exc:
            # Not the database being away but these rows: store them one by one so that a single
            # bad message is kept as a reject instead of blocking the queue forever.
            log.error("batch write failed (%s); writing message by message", exc)
            result = _store_one_by_one(conn, accepted, rejects)
        return items, rejects, result

    def _acknowledge(self, batch: list[Received]) -> None:
        generation = self._generation
        for message in batch:  # arrival order
            token = message.token
            if isinstance(token, _Token) and token.qos > 0 and token.generation == generation:
                self._client.ack(token.mid, token.qos)
        self.metrics.queue_depth.set(self._queue.qsize())

    def _count(
        self,
        batch: list[Received],
        accepted: list[Accepted],
        rejects: list[Reject],
        result: store.StoreResult,
    ) -> None:
        m = self.metrics
        now = datetime.now(UTC)
        for message in batch:
            m.messages.labels(message.topic.rsplit("/", 1)[-1]).inc()
        for reject in rejects:
            m.rejects.labels(reject.device_id or "?", reject.reason).inc()
            log.info("rejected %s from %s: %s", reject.reason, reject.device_id, reject.detail)
        m.rows.labels("walker_frames").inc(result.frames)
        m.rows.labels("robot_events").inc(result.events)
        m.rows.labels("device_status").inc(result.statuses)
        m.duplicates.inc(result.duplicate_rows)
        m.batch_size.observe(len(batch))
        for item in accepted:
            m.lag_seconds.observe(max(0.0, (now - _device_time(item)).total_seconds()))


def _store_one_by_one(
    conn: psycopg.Connection[TupleRow],
    accepted: list[tuple[Received, Accepted]],
    rejects: list[Reject],
) -> store.StoreResult:
    total = store.StoreResult()
    for message, item in accepted:
        try:
            part = store.write_batch(conn, [item], [])
        except _TRANSIENT:
            raise
        except psycopg.Error as exc:
            rejects.append(
                Reject(
                    topic=message.topic,
                    device_id=item.envelope.device_id,
                    reason="storage_error",
                    detail=str(exc)[:2000],
                    payload=message.payload,
                    received_at=message.received_at,
                )
            )
            continue
        total.frames += part.frames
        total.events += part.events
        total.statuses += part.statuses
        total.duplicate_rows += part.duplicate_rows
    total.rejects = store.write_batch(conn, [], rejects).rejects
    return total


def _device_time(item: Accepted) -> datetime:
    if item.envelope.sent_at is not None:
        return item.envelope.sent_at
    if isinstance(item, WalkerTelemetry):
        return item.frames[-1].t0
    assert isinstance(item, RobotEvent | Status)
    return item.at
