"""End-to-end acknowledgements: tell each device how far its messages are committed.

A broker's PUBACK only says that the broker has a message; Mosquitto (2.0.21 included) drops
messages that arrive for a shared subscription after a restart and before a worker is back,
after acknowledging them. So the backend acknowledges too (protocol v1, "Delivery"): after a
batch has committed, the worker hands the batch's ``(device, boot, seq)`` keys to
:class:`AckPublisher`, which on its own thread and database connection advances each device's
watermark (``advance_ack_watermarks``, migration 0013: the highest key below which every
message is committed, whichever worker committed it) and publishes it, retained, QoS 1, on
``stayactive/v1/<device>/ack``. A device keeps each message until the watermark covers it and
replays what stays uncovered.

Nothing here can lose data: keys that do not reach the database (a full hand-off queue, the
database away, a crash) only leave a watermark behind, and the devices replay; duplicates are
stored once.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import psycopg
from psycopg.rows import TupleRow

from ingest.decode import Undecodable, decode
from ingest.messages import Accepted, Reject
from stayactive.errors import StorageUnavailable
from stayactive.registry import DEVICE_ID_PATTERN

log = logging.getLogger(__name__)

Key = tuple[str, int, int]  # (device_id, boot, seq)
_TOPIC = re.compile(rf"^stayactive/v1/({DEVICE_ID_PATTERN})/(telemetry|events|status)$")
_MAX_KEY = 2**53 - 1
_TRANSIENT = (psycopg.OperationalError, psycopg.InterfaceError, StorageUnavailable)


def ack_topic(device_id: str) -> str:
    """The backend → device channel of the acknowledgement watermark."""
    return f"stayactive/v1/{device_id}/ack"


def ack_payload(device_id: str, boot: int, seq: int, at: datetime) -> bytes:
    """The ``ack`` message (schema ``ack.schema.json``)."""
    stamp = at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    doc = {"v": 1, "type": "ack", "device_id": device_id, "boot": boot, "seq": seq, "at": stamp}
    return json.dumps(doc, separators=(",", ":")).encode()


def keys_of(accepted: Iterable[tuple[object, Accepted]], rejects: Iterable[Reject]) -> list[Key]:
    """The keys a committed batch settles: its accepted messages, and its rejects whose topic
    and payload name the same device and carry a readable boot and seq (a rejected message is
    settled too: sending it again would only be rejected again)."""
    keys = [(i.envelope.device_id, i.envelope.boot, i.envelope.seq) for _, i in accepted]
    for reject in rejects:
        key = _reject_key(reject)
        if key is not None:
            keys.append(key)
    return keys


def _reject_key(reject: Reject) -> Key | None:
    match = _TOPIC.match(reject.topic)
    if match is None or reject.reason == "payload_too_large":
        return None
    try:
        doc = decode(reject.payload)
    except (Undecodable, ValueError, TypeError, RecursionError):
        return None
    boot, seq = doc.get("boot"), doc.get("seq")
    if doc.get("device_id") != match.group(1):
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (boot, seq)):
        return None
    assert isinstance(boot, int) and isinstance(seq, int)
    if not (0 <= boot <= _MAX_KEY and 0 <= seq <= _MAX_KEY):
        return None
    return match.group(1), boot, seq


def advance(conn: psycopg.Connection[TupleRow], keys: Iterable[Key], gap: timedelta) -> list[Key]:
    """Record committed keys and return the new watermark of every device among them."""
    devices, boots, seqs = [], [], []
    for device_id, boot, seq in keys:
        devices.append(device_id)
        boots.append(boot)
        seqs.append(seq)
    if not devices:
        return []
    with conn.transaction():
        rows = conn.execute(
            "SELECT device_id, boot, seq FROM advance_ack_watermarks(%s, %s, %s, %s)",
            (devices, boots, seqs, gap),
        ).fetchall()
    return [(str(d), int(b), int(s)) for d, b, s in rows]


class AckPublisher:
    """Advances and publishes watermarks after commits, off the commit path.

    ``committed`` never blocks: when the hand-off queue is full the keys are dropped (logged
    and counted), which only delays the devices' acknowledgements.
    """

    def __init__(
        self,
        client: mqtt.Client,
        connect: Callable[[], psycopg.Connection[TupleRow]],
        *,
        gap: timedelta = timedelta(minutes=5),
        interval_s: float = 0.25,
        max_pending_batches: int = 1000,
    ) -> None:
        self._client = client
        self._connect = connect
        self._gap = gap
        self._interval_s = interval_s
        self._queue: queue.Queue[list[Key]] = queue.Queue(maxsize=max_pending_batches)
        self._conn: psycopg.Connection[TupleRow] | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.dropped_keys = 0
        self.published = 0

    def committed(self, keys: list[Key]) -> None:
        """Post-commit hook: these keys are in the database now."""
        if not keys:
            return
        try:
            self._queue.put_nowait(keys)
        except queue.Full:
            self.dropped_keys += len(keys)
            log.warning("ack queue full: %d keys not acknowledged (devices replay)", len(keys))

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="ingest-acks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Publish what was handed over so far, then stop."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
        if self._conn is not None:
            self._conn.close()

    def _loop(self) -> None:
        while True:
            stopping = self._stop.wait(self._interval_s)
            keys = self._drain()
            if keys:
                self._round(keys)
            if stopping:
                return

    def _drain(self) -> list[Key]:
        keys: list[Key] = []
        while True:
            try:
                keys += self._queue.get_nowait()
            except queue.Empty:
                return keys

    def _round(self, keys: list[Key]) -> None:
        try:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._conn = self._connect()
            marks = advance(self._conn, keys, self._gap)
        except _TRANSIENT as exc:
            # Not acknowledged this time: the devices replay and the keys come round again.
            self.dropped_keys += len(keys)
            log.warning("ack watermarks not advanced (%s)", str(exc).strip())
            return
        except psycopg.Error as exc:
            # Any other refusal (a schema without migration 0013) must not end this thread
            # silently: say so on every round; the devices replay meanwhile.
            self.dropped_keys += len(keys)
            log.error("ack watermarks not advanced: %s", str(exc).strip())
            if self._conn is not None:
                self._conn.close()
            return
        now = datetime.now(UTC)
        for device_id, boot, seq in marks:
            info = self._client.publish(
                ack_topic(device_id), ack_payload(device_id, boot, seq, now), qos=1, retain=True
            )
            if info.rc == mqtt.MQTT_ERR_SUCCESS:
                self.published += 1
