"""The floor for `bench ingest`: a consumer that inserts and commits one message at a time.

It is what one would write first: decode, one INSERT per frame, commit, acknowledge. No
validation beyond decoding, so the comparison flatters it, if anything.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from psycopg.rows import TupleRow

from stayactive.db import walker_samples

INSERT = (
    "INSERT INTO walker_frames_naive (time, device_id, tenant_id, boot, seq, frame_no, rate_hz, "
    "samples, brake_mask, received_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT DO NOTHING"
)


class NaiveConsumer:
    """Subscribes with a persistent session and stores each message in its own transaction."""

    def __init__(
        self,
        conn: psycopg.Connection[TupleRow],
        host: str,
        port: int,
        credentials: tuple[str, str],
        *,
        client_id: str,
        topic: str,
    ) -> None:
        self.conn = conn
        self.stored = 0
        self.frames = 0
        self._lock = threading.Lock()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=True,
        )
        self.client.username_pw_set(*credentials)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, *_a: c.subscribe(topic, qos=1)
        self.subscribed = threading.Event()
        self.client.on_subscribe = lambda *_a: self.subscribed.set()
        self._host, self._port = host, port

    def start(self) -> None:
        """Connect (persistent session) and wait for the subscription to be in place."""
        self.subscribed.clear()
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 600
        props.ReceiveMaximum = 100
        self.client.connect(self._host, self._port, clean_start=False, properties=props)
        self.client.loop_start()
        if not self.subscribed.wait(30):
            raise RuntimeError("the naive consumer's subscription was not acknowledged in 30 s")

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_message(self, client: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        try:
            doc = json.loads(message.payload)
            doc["frames"], doc["boot"], doc["seq"]  # telemetry, or skip it
        except (ValueError, KeyError, TypeError):
            client.ack(message.mid, message.qos)  # not telemetry (left over from elsewhere)
            return
        now = datetime.now(UTC)
        with self.conn.cursor() as cur:
            for no, frame in enumerate(doc["frames"]):
                cur.execute(
                    INSERT,
                    (frame["t0"], doc["device_id"], "bench", doc["boot"], doc["seq"], no,
                     frame["rate_hz"],
                     walker_samples.pack_samples([frame[c] for c in walker_samples.CHANNELS]),
                     walker_samples.pack_brake([b == 1 for b in frame["brake"]]), now),
                )  # fmt: skip
        self.conn.commit()
        client.ack(message.mid, message.qos)
        with self._lock:
            self.stored += 1
            self.frames += len(doc["frames"])
