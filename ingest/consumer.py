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

One message can never stop the worker: whatever goes wrong while decoding, validating or
encoding it becomes a reject with a reason. The in-memory queue is bounded by bytes as well as
count. If the writer thread dies all the same (a bug), ``/health`` says so at once and
:meth:`IngestWorker.run` raises :class:`IngestFailed`, so the process exits non-zero and its
supervisor restarts it; the unacknowledged messages come again.
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
from ingest.batch import Validated, count_committed, store_batch, validate_batch
from ingest.broker_watch import BrokerQueueWatch
from ingest.buffer import ByteQueue
from ingest.buffered_socket import BufferedReadClient
from ingest.health import DatabaseProbe, Health
from ingest.limits import RejectLimiter
from ingest.messages import Received
from ingest.metrics import IngestMetrics
from ingest.registry import DeviceRegistry
from ingest.validate import MAX_PAYLOAD_BYTES
from ingest.worker_config import WorkerConfig
from stayactive import db
from stayactive.errors import StayActiveError, StorageUnavailable
from stayactive.mqtt import tls_context
from stayactive.settings import Settings

log = logging.getLogger(__name__)

DEVICE_TOPICS = "stayactive/v1/+/+"
_POLL_S = 0.5


class IngestFailed(StayActiveError):
    """The worker cannot go on (its writer thread died); restart the process."""


_T = TypeVar("_T")


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
        self._connect = connect or (lambda: db.connect(settings, autocommit=True, role="ingest"))
        self._queue: ByteQueue[Received] = ByteQueue(
            max_items=self.config.receive_maximum + 100, max_bytes=self.config.queue_max_bytes
        )
        self._limiter = RejectLimiter(
            burst=self.config.reject_burst, per_hour=self.config.reject_per_hour
        )
        self._probe = DatabaseProbe(
            self._connect,
            interval_s=self.config.db_probe_interval_s,
            timeout_s=self.config.db_probe_timeout_s,
        )
        self._writer: threading.Thread | None = None
        self._writer_error: BaseException | None = None
        self._last_commit_s = time.monotonic()
        self._in_hand = 0  # messages taken from the queue and not yet committed
        self._in_hand_lock = threading.Lock()
        self._generation = 0
        self._lookup_conn: psycopg.Connection[TupleRow] | None = None
        self._write_conn: psycopg.Connection[TupleRow] | None = None
        self._handoff: queue.Queue[Validated | None] = queue.Queue(maxsize=1)
        self._retention = timedelta(days=settings.raw_retention_days)
        self._registry = DeviceRegistry(self._lookup_connection)
        self._broker_watch = BrokerQueueWatch(
            self.metrics.registry,
            limit_messages=settings.mqtt_max_queued_messages,
            limit_bytes=settings.mqtt_max_queued_bytes,
        )
        self._client = self._make_client()
        self._acks = AckPublisher(
            self._client,
            self._connect,
            gap=timedelta(seconds=settings.ack_gap_s),
            interval_s=self.config.ack_interval_s,
        )
        self._stopping = False
        #: Set once the subscription is in place (tests and the benchmark wait for it).
        self.subscribed = threading.Event()

    # --- MQTT side (paho's network thread) ------------------------------------------------

    def _make_client(self) -> BufferedReadClient:
        client = BufferedReadClient(
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
        # The log line is what a supervisor (or a test) can wait for: from now on nothing
        # published is missed.
        log.info("subscribed (%s)", ", ".join(str(reason) for reason in reasons))
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
        token = _Token(self._generation, message.mid, message.qos)
        now = datetime.now(UTC)
        payload = bytes(message.payload)
        if len(payload) > MAX_PAYLOAD_BYTES:  # rejected on its size: keep only what is stored
            received = Received.compact(
                message.topic, payload, now, keep_bytes=store.REJECT_PAYLOAD_PREFIX_BYTES,
                content_type=content_type, token=token,
            )  # fmt: skip
        else:
            received = Received(message.topic, payload, now, content_type, token)
        size = len(received.payload) + len(received.topic)
        # A full queue blocks this network thread, so the broker holds the backlog. While
        # stopping, a message that does not fit is left unacknowledged: it comes again.
        while not self._stopping and not self._queue.put(received, size, timeout=_POLL_S):
            continue

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
        self._probe.start()
        # Open the database connections now, so /health tells the truth before the first message.
        self._retrying(self._write_connection, stop, 0)
        self._retrying(self._lookup_connection, stop, 0)
        writer = threading.Thread(target=self._write_loop, args=(stop,), name="ingest-writer")
        self._writer = writer
        writer.start()
        idle_since = time.monotonic()
        try:
            while not stop.is_set() and writer.is_alive():
                batch = self._take_batch(stop)
                if not batch:
                    if self._idle_long_enough(idle_since):
                        break
                    continue
                idle_since = time.monotonic()
                self._add_in_hand(len(batch))
                validated = self._retrying(
                    functools.partial(
                        validate_batch, batch, self._registry.lookup, retention=self._retention
                    ),
                    stop,
                    len(batch),
                )
                if validated is None or not self._hand_over(validated, writer):
                    break
        finally:
            self._stopping = True
            while writer.is_alive():
                try:
                    self._handoff.put(None, timeout=_POLL_S)
                    break
                except queue.Full:
                    continue
            writer.join()
            self._acks.stop()
            self._client.disconnect(properties=self._disconnect_properties())
            self._client.loop_stop()
            self._probe.stop()
            for conn in (self._lookup_conn, self._write_conn):
                if conn is not None:
                    conn.close()
            log.info("ingest worker stopped")
        if self._writer_error is not None:
            time.sleep(self.config.failed_grace_s)
            raise IngestFailed(
                f"the writer thread died: {type(self._writer_error).__name__}: {self._writer_error}"
            ) from self._writer_error

    def _hand_over(self, validated: Validated, writer: threading.Thread) -> bool:
        """Give the batch to the writer, waiting while it is busy (backpressure); False if the
        writer died meanwhile."""
        while writer.is_alive():
            try:
                self._handoff.put(validated, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _add_in_hand(self, n: int) -> None:
        with self._in_hand_lock:
            self._in_hand += n

    def health(self) -> Health:
        """Whether this worker is doing its job now (what ``/health`` serves)."""
        database, detail = self._probe.state()
        writer = self._writer is not None and self._writer.is_alive()
        waiting = len(self._queue) + self._in_hand
        age_s = time.monotonic() - self._last_commit_s
        committing = waiting == 0 or age_s <= self.config.stall_after_s
        detail = {
            **detail,
            "waiting_messages": waiting,
            "queued_bytes": self._queue.nbytes,
            "last_commit_age_s": round(age_s, 1),
        }
        if self._writer_error is not None:
            detail["writer_error"] = f"{type(self._writer_error).__name__}: {self._writer_error}"
        state = self.metrics.healthy()
        return Health(
            broker=state["broker"],
            subscription=state["subscription"],
            database=database,
            writer=writer,
            committing=committing,
            detail=detail,
        )

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
        got = self._queue.get(timeout=_POLL_S)
        if got is None:
            return []
        batch = [got[0]]
        size = got[1]
        deadline = time.monotonic() + self.config.batch_max_age_s
        while (
            len(batch) < self.config.batch_max_messages
            and size < self.config.batch_max_bytes
            and not stop.is_set()
        ):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            got = self._queue.get(timeout=remaining)
            if got is None:
                break
            batch.append(got[0])
            size += got[1]
        self._gauge_queue()  # once a batch: a gauge per message was measurable on this thread
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

    def _write_loop(self, stop: threading.Event) -> None:
        """Stage 2, on its own thread, so validating the next batch overlaps the database's
        work on this one: store, then acknowledge in arrival order."""
        try:
            while (work := self._handoff.get()) is not None:
                started = time.monotonic()
                result = self._retrying(functools.partial(self._store, work), stop, len(work.batch))
                if result is None:
                    continue  # stopping: not acknowledged, so the broker redelivers
                self._last_commit_s = time.monotonic()
                self._add_in_hand(-len(work.batch))
                self.metrics.commit_seconds.observe(time.monotonic() - started)
                self._acknowledge(work.batch)
                # post-commit hook: the devices' end-to-end acknowledgement
                accepted = [(message, e.item) for message, e in work.encoded]
                self._acks.committed(keys_of(accepted, work.rejects))
                count_committed(self.metrics, work, result)
        except BaseException as exc:
            # /health reports the dead writer from now on; run() notices and raises.
            self._writer_error = exc
            self.metrics.writer_up.set(0)
            log.critical("the writer thread died; the worker stops", exc_info=True)
            raise

    def _store(self, work: Validated) -> store.StoreResult:
        return store_batch(self._write_connection(), work, self._limiter)

    def _acknowledge(self, batch: list[Received]) -> None:
        generation = self._generation
        qos1: list[int] = []  # one write for the batch's PUBACKs, in arrival order
        for message in batch:
            token = message.token
            if not isinstance(token, _Token) or token.qos == 0 or token.generation != generation:
                continue
            if token.qos == 1:
                qos1.append(token.mid)
            else:  # the subscription is QoS 1, so never seen; kept in order all the same
                self._client.ack_many(qos1)
                qos1 = []
                self._client.ack(token.mid, token.qos)
        self._client.ack_many(qos1)
        self._gauge_queue()

    def _gauge_queue(self) -> None:
        self.metrics.queue_depth.set(len(self._queue))
        self.metrics.queue_bytes.set(self._queue.nbytes)
