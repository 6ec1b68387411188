"""Ending an ingest worker's broker session from outside (`stayactive demo --reset` does)."""

from __future__ import annotations

from collections.abc import Callable

import paho.mqtt.client as mqtt
import psycopg
from psycopg.rows import TupleRow

from ingest import SESSION_NEVER_EXPIRES, end_session
from tests.fixtures.ingest import IngestThread
from tests.fixtures.messages import status_payload
from tests.fixtures.services import DeviceAccount, Schema
from tests.fixtures.streams import wait_until


def _status(client: mqtt.Client, device: str, seq: int) -> None:
    payload = status_payload(device, seq)
    client.publish(f"stayactive/v1/{device}/status", payload, qos=1).wait_for_publish(10)


def test_ending_a_workers_session_drops_what_the_broker_queued_for_it(
    schema: Schema,
    conn: psycopg.Connection[TupleRow],
    devices: Callable[..., dict[str, DeviceAccount]],
    device_client: Callable[[DeviceAccount], mqtt.Client],
    ingest_worker: Callable[..., IngestThread],
) -> None:
    (account,) = devices(1).values()
    device = account.device_id
    client = device_client(account)
    running = ingest_worker(share_group="", session_expiry_s=SESSION_NEVER_EXPIRES)
    running.stop()  # its session stays: the broker queues what the device sends meanwhile
    _status(client, device, seq=1)
    end_session(schema.settings, running.config.client_id)
    running.start()  # the same client id, finding no session: nothing queued for it
    _status(client, device, seq=2)

    def stored() -> set[int]:
        rows = conn.execute("SELECT seq FROM device_status WHERE device_id = %s", (device,))
        return {int(s) for (s,) in rows.fetchall()}

    # Queued, the first would have arrived before the second (one session, in order).
    wait_until(lambda: 2 in stored(), 30, "the message sent after the session ended stored")
    assert stored() == {2}
