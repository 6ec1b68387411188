"""One message in, without MQTT: the path the HTTP fallback takes (the API mounts it).

The same validation and the same transactional write as the MQTT consumer, one message per
call: a device that cannot speak MQTT gets exactly the protocol's rules and reject reasons. The
caller answers the device only after this returns, i.e. after the commit.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.rows import TupleRow

from ingest import store
from ingest.messages import Accepted, Received, Reject
from ingest.validate import DeviceLookup, validate


def ingest_one(
    conn: psycopg.Connection[TupleRow],
    lookup: DeviceLookup,
    topic: str,
    payload: bytes,
    *,
    content_type: str | None = None,
    retention: timedelta,
) -> Accepted | Reject:
    """Validate and store one message (a reject is stored too); return what it became."""
    outcome = validate(
        Received(topic, payload, datetime.now(UTC), content_type), lookup, retention=retention
    )
    store.prepare(conn)
    if isinstance(outcome, Reject):
        store.write_batch(conn, [], [outcome])
    else:
        store.write_batch(conn, [outcome], [])
    return outcome
