"""One batch of received messages on its way through the worker: validated and encoded (on the
worker thread), written in one transaction (on the writer thread) and counted in the metrics.

A message whose rows cannot be built, or that the database refuses for its own content, is kept
as a reject with a reason; only a transient database error leaves this module, for the worker
to retry the whole batch.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.rows import TupleRow

from ingest import store
from ingest.limits import RejectLimiter
from ingest.messages import Accepted, Received, Reject, RobotEvent, Status, WalkerTelemetry
from ingest.metrics import IngestMetrics
from ingest.validate import DeviceLookup, reject, validate
from stayactive import db

log = logging.getLogger(__name__)

#: Rejects logged per batch at most: the log is not a second reject store.
_LOGGED_REJECTS = 50


@dataclass(frozen=True)
class Validated:
    """A batch after validation and encoding, on its way to the writer."""

    batch: list[Received]
    encoded: list[tuple[Received, store.Encoded]]
    rejects: list[Reject]


def validate_batch(
    batch: list[Received], lookup: DeviceLookup, *, retention: timedelta
) -> Validated:
    """Decode, validate and encode ``batch``; a registry lookup may raise (the database is
    away), for the caller to retry. A message whose rows cannot be built becomes a reject."""
    encoded: list[tuple[Received, store.Encoded]] = []
    rejects: list[Reject] = []
    for message in batch:
        outcome = validate(message, lookup, retention=retention)
        if isinstance(outcome, Reject):
            rejects.append(outcome)
            continue
        rows, failed = store.encode([outcome])
        if failed:
            env = outcome.envelope
            rejects.append(
                reject(
                    message, env.device_id, "internal_error",
                    "the message passed validation but its rows could not be built",
                    boot=env.boot, seq=env.seq,
                )
            )  # fmt: skip
        else:
            encoded.append((message, rows[0]))
    return Validated(batch, encoded, rejects)


def store_batch(
    conn: psycopg.Connection[TupleRow], work: Validated, limiter: RejectLimiter
) -> store.StoreResult:
    """Write ``work`` in one transaction; if the database refuses it for its rows (not for
    being away), message by message, so that one bad message is kept as a reject instead of
    blocking the queue forever."""
    items = [item for _, item in work.encoded]
    try:
        return store.write(conn, items, work.rejects, limiter=limiter)
    except Exception as exc:  # find the message, keep it as a reject
        if db.is_transient(exc):
            raise
        log.error("batch write failed (%s); writing message by message", exc)
        return _store_one_by_one(conn, work.encoded, work.rejects, limiter)


def _store_one_by_one(
    conn: psycopg.Connection[TupleRow],
    encoded: list[tuple[Received, store.Encoded]],
    rejects: list[Reject],
    limiter: RejectLimiter,
) -> store.StoreResult:
    """Each message in a transaction of its own: the one the database refuses is kept as a
    ``storage_error`` reject and the others are stored."""
    total = store.StoreResult()
    rejects = list(rejects)
    for message, item in encoded:
        try:
            part = store.write(conn, [item], [])
        except Exception as exc:  # this message, not the database
            if db.is_transient(exc):
                raise
            env = item.item.envelope
            detail = f"{type(exc).__name__}: {exc}"
            rejects.append(
                reject(message, env.device_id, "storage_error", detail, boot=env.boot, seq=env.seq)
            )
            continue
        total.frames += part.frames
        total.events += part.events
        total.statuses += part.statuses
        total.duplicate_rows += part.duplicate_rows
        total.duplicate_messages += part.duplicate_messages
        total.found += part.found
        total.reasons += part.reasons
        total.rejects += part.rejects
    part = store.write(conn, [], rejects, limiter=limiter)
    total.rejects += part.rejects
    total.rejects_suppressed += part.rejects_suppressed
    total.reasons += part.reasons
    return total


def count_committed(m: IngestMetrics, work: Validated, result: store.StoreResult) -> None:
    """Count a committed batch in the metrics (and log its first rejects)."""
    now = datetime.now(UTC)
    # Counted per batch, not per message: each metric call takes a lock.
    channels = Counter(message.topic.rsplit("/", 1)[-1] for message in work.batch)
    for channel, n in channels.items():
        m.messages.labels(channel).inc(n)
    for reason, n in result.reasons.items():
        m.rejects.labels(reason).inc(n)
    for bad in [*work.rejects, *result.found][:_LOGGED_REJECTS]:
        log.info("rejected %s from %s: %s", bad.reason, bad.device_id, bad.detail)
    m.rejects_suppressed.inc(result.rejects_suppressed)
    m.rows.labels("walker_frames").inc(result.frames)
    m.rows.labels("robot_events").inc(result.events)
    m.rows.labels("device_status").inc(result.statuses)
    m.duplicates.inc(result.duplicate_rows)
    m.duplicate_messages.inc(result.duplicate_messages)
    m.key_seconds.observe(result.key_seconds)
    m.batch_size.observe(len(work.batch))
    for _message, item in work.encoded:
        m.lag_seconds.observe(max(0.0, (now - _device_time(item.item)).total_seconds()))


def _device_time(item: Accepted) -> datetime:
    if item.envelope.sent_at is not None:
        return item.envelope.sent_at
    if isinstance(item, WalkerTelemetry):
        return item.frames[-1].t0
    assert isinstance(item, RobotEvent | Status)
    return item.at
