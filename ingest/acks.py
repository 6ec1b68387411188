"""End-to-end acknowledgements: tell each device how far its messages are committed.

A broker's PUBACK only says that the broker has a message; Mosquitto (2.0.21 included) drops
messages that arrive for a shared subscription after a restart and before a worker is back,
after acknowledging them. So the backend acknowledges too (protocol v1, "Delivery"): after a
batch has committed, the worker hands the batch's ``(device, boot, seq)`` keys to
:class:`AckPublisher`, which on its own thread and database connection advances each device's
watermark (the highest key below which every message is committed, whichever worker committed
it; table ``ack_watermarks``, migration 0013) and publishes it, retained, QoS 1, on
``stayactive/v1/<device>/ack``. A device keeps each message until the watermark covers it and
replays what stays uncovered.

What it costs: a worker that has all of a device's messages advances its watermark in memory
(:mod:`ingest.ack_marks`); a round (every ``WorkerConfig.ack_interval_s``) stores the moved
watermarks in one statement and publishes each moved one once. Only keys whose run crosses
another worker's commits or a gap go to ``advance_ack_watermarks``, which keeps them in
``ack_pending`` until the run below them is complete (until 2026-12 every key went through it,
four times a second, and each device's watermark was published on each round).

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

from ingest.ack_marks import Key, Mark, Round, Watermarks
from ingest.decode import Undecodable, decode
from ingest.messages import Accepted, Reject
from stayactive.errors import StorageUnavailable
from stayactive.registry import DEVICE_ID_PATTERN

log = logging.getLogger(__name__)

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
    """Record committed keys in ``ack_pending`` and return the new watermark of every device
    among them (the database's run over every worker's keys, and its step over old gaps)."""
    devices, boots, seqs = _columns(keys)
    if not devices:
        return []
    with conn.transaction():
        rows = conn.execute(
            "SELECT device_id, boot, seq FROM advance_ack_watermarks(%s, %s, %s, %s)",
            (devices, boots, seqs, gap),
        ).fetchall()
    return [(str(d), int(b), int(s)) for d, b, s in rows]


def raise_marks(conn: psycopg.Connection[TupleRow], marks: dict[str, Mark]) -> list[Key]:
    """Store watermarks this worker advanced on its own; return those that were higher than
    the stored ones (another worker may have gone further meanwhile: never lowered)."""
    devices = sorted(marks)
    if not devices:
        return []
    boots = [marks[d][0] for d in devices]
    seqs = [marks[d][1] for d in devices]
    with conn.transaction():
        # The rows locked in device order first, as advance_ack_watermarks does: two workers
        # raising overlapping devices wait for each other instead of deadlocking.
        conn.execute(
            "SELECT 1 FROM ack_watermarks WHERE device_id = ANY(%s) ORDER BY device_id FOR UPDATE",
            (devices,),
        )
        rows = conn.execute(
            """UPDATE ack_watermarks a SET boot = m.boot, seq = m.seq, updated_at = now()
               FROM unnest(%s::text[], %s::int8[], %s::int8[]) AS m(device_id, boot, seq)
               WHERE a.device_id = m.device_id AND (a.boot, a.seq) < (m.boot, m.seq)
               RETURNING a.device_id, a.boot, a.seq""",
            (devices, boots, seqs),
        ).fetchall()
        # What another worker left waiting below the new watermarks is covered now.
        conn.execute(
            """DELETE FROM ack_pending p
               USING unnest(%s::text[], %s::int8[], %s::int8[]) AS m(device_id, boot, seq)
               WHERE p.device_id = m.device_id AND (p.boot, p.seq) <= (m.boot, m.seq)""",
            (devices, boots, seqs),
        )
    return [(str(d), int(b), int(s)) for d, b, s in rows]


def stored_marks(conn: psycopg.Connection[TupleRow], devices: list[str]) -> dict[str, Mark]:
    """The stored watermarks of ``devices`` (those that have one)."""
    rows = conn.execute(
        "SELECT device_id, boot, seq FROM ack_watermarks WHERE device_id = ANY(%s)", (devices,)
    ).fetchall()
    return {str(d): (int(b), int(s)) for d, b, s in rows}


def _columns(keys: Iterable[Key]) -> tuple[list[str], list[int], list[int]]:
    devices, boots, seqs = [], [], []
    for device_id, boot, seq in keys:
        devices.append(device_id)
        boots.append(boot)
        seqs.append(seq)
    return devices, boots, seqs


class AckPublisher:
    """Advances and publishes watermarks after commits, off the commit path.

    Every ``interval_s`` it takes the keys committed since the last round. Devices whose keys
    continue their watermark unbroken (one worker has them all: the usual case) are advanced in
    memory (:mod:`ingest.ack_marks`) and stored in one statement for all of them; only devices
    whose run crosses keys committed elsewhere, or a gap, go through ``advance_ack_watermarks``.
    Then each device whose watermark moved is published once, whatever the number of its
    messages in the round. ``committed`` never blocks: when the hand-off queue is full the keys
    are dropped (logged and counted), which only delays the devices' acknowledgements.
    """

    def __init__(
        self,
        client: mqtt.Client,
        connect: Callable[[], psycopg.Connection[TupleRow]],
        *,
        gap: timedelta = timedelta(minutes=5),
        interval_s: float = 1.0,
        max_pending_batches: int = 1000,
        max_held_keys: int = 1_000_000,
    ) -> None:
        self._client = client
        self._connect = connect
        self._gap = gap
        self._interval_s = interval_s
        self._max_held_keys = max_held_keys
        self._queue: queue.Queue[list[Key]] = queue.Queue(maxsize=max_pending_batches)
        self._conn: psycopg.Connection[TupleRow] | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._marks = Watermarks()
        self._published: dict[str, Mark] = {}
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
            for keys in self._drain():
                self._marks.add(keys)
            if self._marks.held() or self._marks.waiting():
                self._round()
            if stopping:
                return

    def _drain(self) -> list[list[Key]]:
        batches: list[list[Key]] = []
        while True:
            try:
                batches.append(self._queue.get_nowait())
            except queue.Empty:
                return batches

    def _connection(self) -> psycopg.Connection[TupleRow]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = self._connect()
        return self._conn

    def _round(self) -> None:
        work = None
        try:
            conn = self._connection()
            unknown = self._marks.unknown()
            if unknown:
                self._marks.learn(stored_marks(conn, unknown))
            work = self._marks.take()
            raised = raise_marks(conn, work.local)
            self._marks.advanced(work.local)
            marks = advance(conn, work.shared, self._gap)
        except (psycopg.Error, StorageUnavailable) as exc:
            self._failed(work, exc)
            return
        self._marks.learn({d: (b, s) for d, b, s in marks})
        self._publish([*raised, *marks])

    def _failed(self, work: Round | None, exc: Exception) -> None:
        """Not acknowledged this round: the keys come round again (the devices replay if it
        lasts). Any refusal is said on every round, so this thread never ends silently."""
        if work is not None:
            self._marks.restore(work)
        held = self._marks.held()
        if held > self._max_held_keys:  # the database away for long: bounded memory
            self.dropped_keys += held
            self._marks = Watermarks()
            log.error("ack watermarks: %d committed keys dropped (devices replay)", held)
        transient = isinstance(exc, _TRANSIENT)
        log.log(
            logging.WARNING if transient else logging.ERROR,
            "ack watermarks not advanced (%s)",
            str(exc).strip(),
        )
        if not transient and self._conn is not None:
            self._conn.close()  # a schema without migration 0013, say: start afresh

    def _publish(self, marks: list[Key]) -> None:
        """One retained publication per device whose watermark moved since the last."""
        now = datetime.now(UTC)
        for device_id, boot, seq in marks:
            if self._published.get(device_id, (-1, -1)) >= (boot, seq):
                continue
            info = self._client.publish(
                ack_topic(device_id), ack_payload(device_id, boot, seq, now), qos=1, retain=True
            )
            if info.rc == mqtt.MQTT_ERR_SUCCESS:
                self._published[device_id] = (boot, seq)
                self.published += 1
