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

import functools
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from psycopg.rows import TupleRow

from ingest import store
from ingest.acks import AckPublisher, keys_of
from ingest.broker_watch import BrokerQueueWatch
from ingest.messages import Accepted, Received, Reject, RobotEvent, Status, WalkerTelemetry
from ingest.metrics import IngestMetrics
from ingest.registry import DeviceRegistry
from ingest.validate import validate
from stayactive import db
from stayactive.errors import StorageUnavailable
from stayactive.mqtt import tls_context
from stayactive.settings import Settings

log = logging.getLogger(__name__)

DEVICE_TOPICS = "stayactive/v1/+/+"
SESSION_NEVER_EXPIRES = 0xFFFFFFFF  # MQTT 5: the session does not expire


@dataclass(frozen=True)
class WorkerConfig:
    """Tuning of one worker; the defaults suit a municipality on one machine."""

    client_id: str = "ingest-1"
    # Workers of one shared-subscription group split the messages; "" subscribes plainly (one
    # worker only), which Mosquitto 2.0 restores after a restart and a shared one it does not.
    share_group: str = "ingest"
    # How long the broker keeps queueing for this worker while it is away: never expire, as
    # Mosquitto 2.0.11 drops sessions with a finite expiry when it restarts. Retire a worker
    # that will not come back (``--retire``).
    session_expiry_s: int = SESSION_NEVER_EXPIRES
    batch_max_messages: int = 500
    batch_max_age_s: float = 0.2
    receive_maximum: int = 2000
    backoff_max_s: float = 10.0
    # Retiring a worker: drain what the broker queued for it, then end its session so that the
    # shared subscription stops queueing messages for a worker that will not come back.
    retire_when_idle_s: float | None = None
    # End the session when stopping (after the batches in hand): for a worker that runs only
    # for a while, like the demo's, so the broker does not queue for it once it is gone.
    end_session_on_exit: bool = False


_T = TypeVar("_T")


@dataclass(frozen=True)
class _Validated:
    """A batch after validation, on its way to the writer."""

    batch: list[Received]
    accepted: list[tuple[Received, Accepted]]
    rejects: list[Reject]


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
        self._lookup_conn: psycopg.Connection[TupleRow] | None = None
        self._write_conn: psycopg.Connection[TupleRow] | None = None
        self._handoff: queue.Queue[_Validated | None] = queue.Queue(maxsize=1)
        self._retention = timedelta(days=settings.raw_retention_days)
        self._registry = DeviceRegistry(self._lookup_connection)
        self._broker_watch = BrokerQueueWatch(
            self.metrics.registry,
            limit_messages=settings.mqtt_max_queued_messages,
            limit_bytes=settings.mqtt_max_queued_bytes,
        )
        self._client = self._make_client()
        self._acks = AckPublisher(
            self._client, self._connect, gap=timedelta(seconds=settings.ack_gap_s)
        )
        self._stopping = False
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
        client.username_pw_set(*self.settings.ingest_credentials(self.config.client_id))
        ca_file = self.settings.mqtt_tls_ca()
        if ca_file is not None:  # an mqtts:// broker
            client.tls_set_context(tls_context(ca_file))
        client.reconnect_delay_set(min_delay=1, max_delay=int(self.config.backoff_max_s))
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        self._broker_watch.attach(client)
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
        group = self.config.share_group
        client.subscribe(f"$share/{group}/{DEVICE_TOPICS}" if group else DEVICE_TOPICS, qos=1)
        self._broker_watch.subscribe(client)

    def _on_subscribe(
        self, _c: mqtt.Client, _u: object, mid: int, reasons: list[ReasonCode], _p: object
    ) -> None:
        if self._broker_watch.owns_subscription(mid, reasons):
            return
        if any(reason.is_failure for reason in reasons):
            log.error("the broker refused the subscription: %s", reasons)
            return
        self.metrics.set_subscribed(True)
        self.subscribed.set()

    def _on_disconnect(
        self, _c: mqtt.Client, _u: object, _f: object, reason: ReasonCode, _p: object
    ) -> None:
        self.metrics.set_reachable("broker", False)
        self.metrics.set_subscribed(False)
        if self._stopping:
            log.info("disconnected from the broker")
        else:
            log.warning("disconnected from the broker: %s; reconnecting", reason)

    def _on_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        props = message.properties
        content_type = getattr(props, "ContentType", None) if props is not None else None
        received = Received(
            topic=message.topic,
            payload=bytes(message.payload),
            received_at=datetime.now(UTC),
            content_type=content_type,
            token=_Token(self._generation, message.mid, message.qos),
        )
        # A full queue blocks this network thread, so the broker holds the backlog. While
        # stopping, a message that does not fit is left unacknowledged: it comes again.
        while not self._stopping:
            try:
                self._queue.put(received, timeout=0.5)
                break
            except queue.Full:
                continue
        self.metrics.queue_depth.set(self._queue.qsize())

    # --- worker side ----------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Connect, then consume until ``stop`` is set; batches in hand are finished first."""
        host, port = self.settings.mqtt_host_port()
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self.config.session_expiry_s
        props.ReceiveMaximum = self.config.receive_maximum
        self._client.connect_async(host, port, keepalive=30, clean_start=False, properties=props)
        self._client.loop_start()
        self._acks.start()
        # Open the database connections now, so /health tells the truth before the first message.
        self._retrying(self._write_connection, stop, 0)
        self._retrying(self._lookup_connection, stop, 0)
        writer = threading.Thread(target=self._write_loop, args=(stop,), name="ingest-writer")
        writer.start()
        idle_since = time.monotonic()
        try:
            while not stop.is_set():
                batch = self._take_batch(stop)
                if not batch:
                    if self._idle_long_enough(idle_since):
                        break
                    continue
                idle_since = time.monotonic()
                validated = self._retrying(
                    functools.partial(self._validate, batch), stop, len(batch)
                )
                if validated is None:
                    break
                self._handoff.put(validated)  # blocks while the writer is busy: backpressure
        finally:
            self._stopping = True
            self._handoff.put(None)
            writer.join()
            self._acks.stop()
            self._client.disconnect(properties=self._disconnect_properties())
            self._client.loop_stop()
            for conn in (self._lookup_conn, self._write_conn):
                if conn is not None:
                    conn.close()
            log.info("ingest worker stopped")

    def _idle_long_enough(self, idle_since: float) -> bool:
        limit = self.config.retire_when_idle_s
        if limit is None or not self.subscribed.is_set():
            return False
        if time.monotonic() - idle_since < limit or not self._handoff.empty():
            return False
        log.info("retiring: nothing queued for %.0f s; ending the session", limit)
        return True

    def _disconnect_properties(self) -> Properties | None:
        if self.config.retire_when_idle_s is None and not self.config.end_session_on_exit:
            return None  # the broker keeps the session and queues for our return
        props = Properties(PacketTypes.DISCONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 0
        return props

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

    def _open(self) -> psycopg.Connection[TupleRow]:
        conn = self._connect()
        store.prepare(conn)
        self.metrics.set_reachable("database", True)
        return conn

    def _lookup_connection(self) -> psycopg.Connection[TupleRow]:
        if self._lookup_conn is None or self._lookup_conn.closed or self._lookup_conn.broken:
            self._lookup_conn = self._open()
        return self._lookup_conn

    def _write_connection(self) -> psycopg.Connection[TupleRow]:
        if self._write_conn is None or self._write_conn.closed or self._write_conn.broken:
            self._write_conn = self._open()
        return self._write_conn

    def _retrying(self, step: Callable[[], _T], stop: threading.Event, n: int) -> _T | None:
        """Run ``step`` until the database lets it finish; None when ``stop`` came first."""
        backoff_s = 0.5
        while True:
            try:
                with db.translated():
                    return step()
            except StorageUnavailable as exc:
                self.metrics.set_reachable("database", False)
                self.metrics.storage_retries.inc()
                for conn in (self._lookup_conn, self._write_conn):
                    if conn is not None and conn.broken:
                        conn.close()
                log.warning("%s; retry in %.1f s", exc, backoff_s)
                if stop.wait(backoff_s):
                    log.info("stopping with %d uncommitted messages: not acknowledged", n)
                    return None
                backoff_s = min(backoff_s * 2, self.config.backoff_max_s)

    def _validate(self, batch: list[Received]) -> _Validated:
        """Stage 1, on the worker thread: decode and validate (registry lookups may retry)."""
        accepted: list[tuple[Received, Accepted]] = []
        rejects: list[Reject] = []
        for message in batch:
            outcome = validate(message, self._registry.lookup, retention=self._retention)
            if isinstance(outcome, Reject):
                rejects.append(outcome)
            else:
                accepted.append((message, outcome))
        return _Validated(batch, accepted, rejects)

    def _write_loop(self, stop: threading.Event) -> None:
        """Stage 2, on its own thread, so validating the next batch overlaps the database's
        work on this one: store, then acknowledge in arrival order."""
        while (work := self._handoff.get()) is not None:
            started = time.monotonic()
            result = self._retrying(functools.partial(self._store, work), stop, len(work.batch))
            if result is None:
                continue  # stopping: not acknowledged, so the broker redelivers
            self.metrics.commit_seconds.observe(time.monotonic() - started)
            self._acknowledge(work.batch)
            self._acks.committed(keys_of(work.accepted, work.rejects))  # post-commit hook
            self._count(work, result)

    def _store(self, work: _Validated) -> store.StoreResult:
        conn = self._write_connection()
        items = [item for _, item in work.accepted]
        try:
            return store.write_batch(conn, items, work.rejects)
        except psycopg.Error as exc:
            if db.is_transient(exc):
                raise
            # Not the database being away but these rows: store them one by one so that a single
            # bad message is kept as a reject instead of blocking the queue forever.
            log.error("batch write failed (%s); writing message by message", exc)
            return _store_one_by_one(conn, work.accepted, work.rejects)

    def _acknowledge(self, batch: list[Received]) -> None:
        generation = self._generation
        for message in batch:  # arrival order
            token = message.token
            if isinstance(token, _Token) and token.qos > 0 and token.generation == generation:
                self._client.ack(token.mid, token.qos)
        self.metrics.queue_depth.set(self._queue.qsize())

    def _count(self, work: _Validated, result: store.StoreResult) -> None:
        m = self.metrics
        now = datetime.now(UTC)
        rejects = work.rejects
        for message in work.batch:
            m.messages.labels(message.topic.rsplit("/", 1)[-1]).inc()
        for reject in rejects:
            m.rejects.labels(reject.device_id or "?", reject.reason).inc()
            log.info("rejected %s from %s: %s", reject.reason, reject.device_id, reject.detail)
        m.rows.labels("walker_frames").inc(result.frames)
        m.rows.labels("robot_events").inc(result.events)
        m.rows.labels("device_status").inc(result.statuses)
        m.duplicates.inc(result.duplicate_rows)
        m.batch_size.observe(len(work.batch))
        for _message, item in work.accepted:
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
        except psycopg.Error as exc:
            if db.is_transient(exc):
                raise
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
