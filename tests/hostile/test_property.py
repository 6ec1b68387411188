"""Property: whatever a device sends, validate and store never raise, and every message ends up
stored or rejected with a reason (issue 16 point 3).

Generated messages (valid, at the boundaries of the schema and the storage types, and hostile)
go through ``validate`` and then ``store.write_batch`` into a real schema, one by one.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from psycopg.rows import TupleRow

from ingest import reasons, store
from ingest.messages import Received, Reject
from ingest.validate import validate
from tests.fixtures.generated import NOW, REGISTRY, RETENTION, publications
from tests.fixtures.services import Schema


@pytest.fixture
def staged(schema: Schema) -> Iterator[psycopg.Connection[TupleRow]]:
    with schema.connect() as connection:
        store.prepare(connection)
        yield connection


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(publication=publications())
def test_every_message_is_stored_or_rejected_and_nothing_raises(
    staged: psycopg.Connection[TupleRow], publication: tuple[str, bytes]
) -> None:
    topic, payload = publication
    outcome = validate(Received(topic, payload, NOW), REGISTRY.get, retention=RETENTION)
    if isinstance(outcome, Reject):
        assert outcome.reason in reasons.ALL
        result = store.write_batch(staged, [], [outcome])
        # Stored now, or the same reject was stored before (same device, reason, boot, seq).
        assert result.rejects + result.rejects_repeated == 1
        row = staged.execute(
            "SELECT reason FROM ingest_rejects WHERE dedupe_key = %s", (store.dedupe_key(outcome),)
        ).fetchone()
        assert row == (outcome.reason,)
        return
    env = outcome.envelope
    result = store.write_batch(staged, [outcome], [])
    stored = result.frames + result.events + result.statuses
    if result.found:  # the key was taken by another payload: kept as a key_conflict
        (conflict,) = result.found
        assert conflict.reason == "key_conflict" and result.rejects + result.rejects_repeated == 1
    elif env.seq == 0:  # a last will, keyed by its time
        assert stored + result.duplicate_rows == 1
    else:
        assert stored > 0 or result.duplicate_messages == 1
        key = staged.execute(
            "SELECT payload_sha256 FROM message_keys WHERE device_id = %s AND boot = %s "
            "AND seq = %s",
            (env.device_id, env.boot, env.seq),
        ).fetchone()
        assert key is not None
