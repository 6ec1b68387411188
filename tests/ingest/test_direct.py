"""The HTTP fallback's path: one message through the same validation and write as MQTT."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.rows import TupleRow

from ingest.direct import ingest_one
from ingest.messages import Reject, Status
from ingest.registry import DeviceRegistry
from tests.fixtures.ingest import count
from tests.fixtures.messages import example
from tests.fixtures.services import DeviceAccount


def test_one_message_is_stored_and_a_bad_one_kept(
    conn: psycopg.Connection[TupleRow], devices: Callable[..., dict[str, DeviceAccount]]
) -> None:
    (device,) = devices(1)
    lookup = DeviceRegistry(lambda: conn).lookup
    topic = f"stayactive/v1/{device}/status"
    good = json.dumps(example("status.json", device, seq=1, now=datetime.now(UTC))).encode()
    outcome = ingest_one(conn, lookup, topic, good, retention=timedelta(days=400))
    assert isinstance(outcome, Status)
    again = ingest_one(conn, lookup, topic, good, retention=timedelta(days=400))
    assert isinstance(again, Status)
    assert count(conn, "device_status", device_id=device) == 1  # idempotent, as over MQTT
    bad = ingest_one(conn, lookup, topic, b"{not json", retention=timedelta(days=400))
    assert isinstance(bad, Reject) and bad.reason == "undecodable"
    assert count(conn, "ingest_rejects", device_id=device, reason="undecodable") == 1
