"""Validate device messages against the published protocol (docs/protocol.md, "Rejects").

The checks run in the documented order and the first failure names the reason. Structure comes
from the published JSON Schemas in ``ingest/schemas``; the walker's sample arrays, thousands of
numbers per message, are checked with numpy against the bounds read from the same schema
(:mod:`ingest.schema_rules`), so the schema stays the one source of every limit.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import psycopg
from jsonschema import Draft202012Validator, ValidationError

from ingest.decode import Undecodable, decode
from ingest.messages import (
    FLOAT_CHANNELS,
    Accepted,
    Envelope,
    Frame,
    Received,
    Reject,
    RobotEvent,
    Status,
    WalkerTelemetry,
)
from ingest.schema_rules import FrameRules, Samples, validators
from stayactive.errors import StorageUnavailable
from stayactive.registry import DEVICE_ID_PATTERN

log = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES = 256 * 1024
PROTOCOL_VERSION = 1
MAX_FUTURE = timedelta(minutes=5)

TOPIC = re.compile(rf"^stayactive/v1/({DEVICE_ID_PATTERN})/([a-z]+)$")
CHANNEL_OF_TYPE = {
    "walker.telemetry": "telemetry",
    "robot.event": "events",
    "status": "status",
    "config": "config",
}
#: The kind of device that sends each type (status: every kind).
KIND_OF_TYPE = {"walker.telemetry": "walker", "robot.event": "robot"}
_TIME_FIELDS = ("sent_at", "at", "t0", "started_at", "ended_at")
_ENVELOPE = ("v", "type", "device_id", "boot", "seq")
_CHECKED_BY_NUMPY = frozenset((*FLOAT_CHANNELS, "brake"))
#: Largest magnitude a ``real`` (float4) column holds; status numbers are stored as real.
FLOAT4_MAX = float(np.finfo(np.float32).max)
#: Status fields stored in ``real`` columns (the others are bounded well within it by the schema).
_REAL_STATUS_FIELDS = ("battery_pct", "rssi_dbm", "clock_offset_ms")
_BIGINT_MAX = 2**63 - 1
#: Detail texts are cut to this many characters.
MAX_DETAIL_CHARS = 2000


@dataclass(frozen=True)
class DeviceInfo:
    """What validation needs to know of a registered device."""

    device_id: str
    tenant_id: str
    kind: str
    active: bool


DeviceLookup = Callable[[str], DeviceInfo | None]


class _Invalid(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def validate(message: Received, lookup: DeviceLookup, *, retention: timedelta) -> Accepted | Reject:
    """Validate one received message; bad input never raises, it becomes a :class:`Reject`.

    The fast path (:mod:`ingest.fastpath`) accepts well-formed walker telemetry, the bulk of
    the traffic; everything it does not accept is decided here by the exact checks against the
    published schemas, so every reject's reason is theirs. Only a failing registry lookup
    (database unavailable) raises, for the caller to retry.
    """
    from ingest import fastpath  # imports this module's limits (TOPIC, MAX_FUTURE, ...)

    accepted = fastpath.accept(message, lookup, retention=retention)
    if accepted is not None:
        return accepted
    return validate_exact(message, lookup, retention=retention)


@dataclass
class _Key:
    """The message's (boot, seq), once decoding got far enough to read them."""

    boot: int | None = None
    seq: int | None = None


def validate_exact(
    message: Received, lookup: DeviceLookup, *, retention: timedelta
) -> Accepted | Reject:
    """The checks of docs/protocol.md in their documented order, against the JSON Schemas."""
    match = TOPIC.match(message.topic)
    topic_device = match.group(1) if match else None
    key = _Key()
    try:
        if match is None:
            raise _Invalid("bad_topic", f"{message.topic!r} is not stayactive/v1/<id>/<channel>")
        return _validate(message, match.group(1), match.group(2), lookup, retention, key)
    except _Invalid as bad:
        return reject(message, topic_device, bad.reason, bad.detail, boot=key.boot, seq=key.seq)
    except (psycopg.Error, StorageUnavailable):
        raise  # the registry lookup: the database, not the message
    except Exception as exc:  # one message must never take ingest down
        log.exception("internal error validating a message on %s", message.topic)
        detail = f"{type(exc).__name__}: {exc}"
        return reject(message, topic_device, "internal_error", detail, boot=key.boot, seq=key.seq)


def reject(
    message: Received,
    device_id: str | None,
    reason: str,
    detail: str,
    *,
    boot: int | None = None,
    seq: int | None = None,
    stored_sha256: bytes | None = None,
) -> Reject:
    """A :class:`Reject` of ``message`` with ``reason``."""
    return Reject(
        topic=message.topic,
        device_id=device_id,
        reason=reason,
        detail=detail[:MAX_DETAIL_CHARS],
        payload=message.payload,
        received_at=message.received_at,
        payload_size=message.payload_size,
        payload_sha256=message.payload_sha256(),
        boot=boot,
        seq=seq,
        stored_sha256=stored_sha256,
    )


def _key_part(value: Any, low: int) -> int | None:
    # Only a plain integer in bigint range names the message; anything else is left out.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return None
    number = int(value)
    return number if low <= number <= _BIGINT_MAX else None


def _validate(
    message: Received,
    topic_device: str,
    channel: str,
    lookup: DeviceLookup,
    retention: timedelta,
    key: _Key,
) -> Accepted:
    # 1-2. size and encoding
    if message.payload_size > MAX_PAYLOAD_BYTES:
        raise _Invalid("payload_too_large", f"{message.payload_size} bytes > {MAX_PAYLOAD_BYTES}")
    try:
        doc = decode(message.payload, message.content_type)
    except Undecodable as exc:
        raise _Invalid("undecodable", str(exc)) from exc
    key.boot, key.seq = _key_part(doc.get("boot"), 0), _key_part(doc.get("seq"), 0)
    # 3-5. version, device id, channel
    version = doc.get("v")
    if isinstance(version, bool) or version != PROTOCOL_VERSION:
        raise _Invalid("unsupported_version", f"v = {version!r}; this backend reads version 1")
    if doc.get("device_id") != topic_device:
        raise _Invalid("topic_mismatch", f"device_id {doc.get('device_id')!r} ≠ {topic_device!r}")
    message_type = doc.get("type")
    if not isinstance(message_type, str) or message_type not in CHANNEL_OF_TYPE:
        raise _Invalid("schema_invalid", f"unknown message type {message_type!r}")
    if message_type == "config" or CHANNEL_OF_TYPE[message_type] != channel:
        raise _Invalid("wrong_channel", f"a {message_type} message on channel {channel!r}")
    # 6-7. registry
    device = lookup(topic_device)
    if device is None:
        raise _Invalid("unknown_device", f"device {topic_device!r} is not registered")
    if not device.active:
        raise _Invalid("inactive_device", f"device {topic_device!r} is not active")
    # 8. a robot's telemetry would be stored as a walker's, a walker's event as a robot's
    sender = KIND_OF_TYPE.get(message_type)
    if sender is not None and device.kind != sender:
        raise _Invalid(
            "wrong_device_kind",
            f"a {message_type} message from {topic_device!r}, registered as a {device.kind}",
        )
    # 9-11. structure, array lengths, ranges
    structure, full = validators(message_type)
    range_error = _first_error(full, doc)
    if range_error is not None:  # the second pass tells a structure error from a range error
        structure_error = _first_error(structure, doc)
        if structure_error is not None:
            raise _Invalid("schema_invalid", structure_error)
    frames = doc.get("frames", [])
    for i, frame in enumerate(frames):
        _frame_structure(i, frame)
    for i, frame in enumerate(frames):  # every frame's structure before any frame's lengths
        _sample_types(i, frame)
    arrays = [_arrays(i, f) for i, f in enumerate(frames)]
    if range_error is not None:
        raise _Invalid("value_out_of_range", range_error)
    _finite(doc)
    for i, (frame, values) in enumerate(zip(frames, arrays, strict=True)):
        _in_bounds(i, frame, values)
    # 12. what the schema allows but the storage types cannot hold
    _storable(doc)
    # 13-14. timestamps
    times = [_parse_time(t) for t in _timestamps(doc)]
    _check_times(times, message.received_at, retention)

    envelope = Envelope(
        device_id=topic_device,
        tenant_id=device.tenant_id,
        boot=int(doc["boot"]),  # the schema's "integer" admits 5.0
        seq=int(doc["seq"]),
        sent_at=_parse_time(doc["sent_at"]) if "sent_at" in doc else None,
        received_at=message.received_at,
        payload_sha256=message.payload_sha256(),
    )
    if message_type == "walker.telemetry":
        return WalkerTelemetry(
            envelope, [_frame(f, a) for f, a in zip(frames, arrays, strict=True)]
        )
    if message_type == "robot.event":
        body = {k: v for k, v in doc.items() if k not in _ENVELOPE}
        return RobotEvent(envelope, _parse_time(doc["at"]), doc["event"], doc["session_id"], body)
    return _status(envelope, doc)


def _first_error(validator: Draft202012Validator, doc: dict[str, Any]) -> str | None:
    error = next(iter(validator.iter_errors(doc)), None)
    if error is None:
        return None
    error = _selected_branch(error)
    where = "/".join(str(p) for p in error.absolute_path) or "(message)"
    if error.validator == "oneOf":  # its message repeats the whole message, pseudonyms and all
        return f"{where}: matches none of the schemas of its event kind"
    return f"{where}: {error.message}"[:500]


def _selected_branch(error: ValidationError) -> ValidationError:
    """For a failed ``oneOf`` over event kinds, the first error of the one branch whose
    ``event`` matched (what is wrong with the message as the kind it says it is); else
    ``error`` itself."""
    if error.validator != "oneOf" or not error.context:
        return error
    branches: dict[object, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    chosen = [
        errors
        for errors in branches.values()
        if not any(list(e.relative_path) == ["event"] for e in errors)
    ]
    return _selected_branch(chosen[0][0]) if len(chosen) == 1 else error


def _frame_structure(index: int, frame: Any) -> None:
    """Step 8 for one frame: the keys, the time, the types and the array sizes."""
    rules = FrameRules.load()
    where = f"frames/{index}"
    if not isinstance(frame, dict):
        raise _Invalid("schema_invalid", f"{where} is not an object")
    if frame.keys() != rules.keys:
        missing, extra = sorted(rules.keys - frame.keys()), sorted(frame.keys() - rules.keys)
        raise _Invalid("schema_invalid", f"{where}: missing {missing}, not allowed {extra}")
    t0 = frame["t0"]
    if not (isinstance(t0, str) and rules.timestamp.match(t0)):
        raise _Invalid("schema_invalid", f"{where}/t0 {t0!r} is not a UTC timestamp with ms")
    _parse_time(t0)
    if type(frame["rate_hz"]) not in (int, float):
        raise _Invalid("schema_invalid", f"{where}/rate_hz is not a number")
    low, high = rules.n_samples
    for name in (*FLOAT_CHANNELS, "brake"):
        values = frame[name]
        if not (isinstance(values, list) and low <= len(values) <= high):
            raise _Invalid("schema_invalid", f"{where}/{name} is not an array of {low}..{high}")


def _sample_types(index: int, frame: dict[str, Any]) -> None:
    """Step 8 for the sample arrays: numbers only, brake 0 or 1."""
    for name in FLOAT_CHANNELS:
        if not set(map(type, frame[name])) <= {int, float}:
            raise _Invalid("schema_invalid", f"frames/{index}/{name} holds something not a number")
    brake = frame["brake"]
    # The schema's "integer" admits 1.0 (not true): 0 and 1 as int or float.
    if not (set(map(type, brake)) <= {int, float} and set(brake) <= {0, 1}):
        raise _Invalid("schema_invalid", f"frames/{index}/brake holds values other than 0 and 1")


def _arrays(index: int, frame: dict[str, Any]) -> Samples:
    """Step 9 (equal lengths); the float arrays come back as one (channels, samples) array in
    FLOAT_CHANNELS order."""
    lengths = {name: len(frame[name]) for name in (*FLOAT_CHANNELS, "brake")}
    if len(set(lengths.values())) != 1:
        raise _Invalid("array_length_mismatch", f"frames/{index}: array lengths {lengths}")
    rows = [frame[name] for name in FLOAT_CHANNELS]
    try:
        return np.array(rows, dtype=np.float64)
    except OverflowError:
        # An integer beyond any float (2**4000): out of range; float("inf") stands for it.
        return np.array([[_as_float(v) for v in row] for row in rows], dtype=np.float64)


def _as_float(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _in_bounds(index: int, frame: dict[str, Any], samples: Samples) -> None:
    rules = FrameRules.load()
    rate = frame["rate_hz"]
    if not rules.rate_hz[0] <= rate <= rules.rate_hz[1]:
        raise _Invalid(
            "value_out_of_range", f"frames/{index}/rate_hz = {rate!r} outside {rules.rate_hz}"
        )
    bad = ~((samples >= rules.low) & (samples <= rules.high))  # NaN fails both comparisons
    if bad.any():
        channel, i = (int(x) for x in np.argwhere(bad)[0])
        name, value = FLOAT_CHANNELS[channel], float(samples[channel, i])
        raise _Invalid(
            "value_out_of_range",
            f"frames/{index}/{name}/{i} = {value!r} outside {rules.bounds[name]}",
        )


def _finite(doc: dict[str, Any]) -> None:
    # NaN and infinity (possible in CBOR) pass the schema's range keywords unnoticed.
    stack: list[Any] = [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise _Invalid("value_out_of_range", f"non-finite number {item!r}")
        if isinstance(item, dict):
            stack.extend(v for k, v in item.items() if k not in _CHECKED_BY_NUMPY)
        elif isinstance(item, list):
            stack.extend(item)


def _storable(doc: dict[str, Any]) -> None:
    """Step 11: values the schema allows that no column could hold. Text with a NUL character
    (PostgreSQL's text and jsonb cannot hold one), and status numbers beyond a ``real``."""
    for name in _REAL_STATUS_FIELDS:
        value = doc.get(name) if doc.get("type") == "status" else None
        if value is not None and not abs(_as_float(value)) <= FLOAT4_MAX:
            shown = (
                f"{value:.6g}"
                if isinstance(value, float)
                else f"an integer of {value.bit_length()} bits"
            )
            raise _Invalid(
                "value_not_storable",
                f"{name} = {shown} is beyond a real column (±{FLOAT4_MAX:.4g})",
            )
    stack: list[Any] = [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, str) and "\x00" in item:
            raise _Invalid("value_not_storable", f"text with a NUL character: {item[:80]!r}")
        if isinstance(item, dict):
            stack.extend(item)
            stack.extend(v for k, v in item.items() if k not in _CHECKED_BY_NUMPY)
        elif isinstance(item, list):
            stack.extend(item)


def _timestamps(doc: dict[str, Any]) -> Iterator[str]:
    for name in _TIME_FIELDS:
        if name in doc:
            yield doc[name]
    yield from doc.get("rep_times", [])
    for frame in doc.get("frames", []):
        yield frame["t0"]


def _parse_time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:  # the schema's pattern and date-time format should prevent this
        raise _Invalid("schema_invalid", f"bad timestamp {text!r}: {exc}") from exc


def _check_times(times: list[datetime], received_at: datetime, retention: timedelta) -> None:
    newest, oldest = max(times), min(times)
    if newest > received_at + MAX_FUTURE:
        ahead_s = (newest - received_at).total_seconds()
        raise _Invalid("timestamp_in_future", f"{newest.isoformat()} is {ahead_s:.0f} s ahead")
    if oldest < received_at - retention:
        raise _Invalid(
            "timestamp_too_old", f"{oldest.isoformat()} is older than {retention.days} days"
        )


def _frame(raw: dict[str, Any], values: Samples) -> Frame:
    return Frame(
        t0=_parse_time(raw["t0"]),
        rate_hz=float(raw["rate_hz"]),
        samples=values,
        brake=np.asarray(raw["brake"], dtype=np.bool_),
    )


def _status(envelope: Envelope, doc: dict[str, Any]) -> Status:
    def number(name: str) -> float | None:
        # Rounded to a real (float4) here: the database refuses a float8 that underflows one
        # (1e-94) where the rounding gives 0; step 11 already refused what would overflow.
        value = doc.get(name)
        return None if value is None else float(np.float32(float(value)))

    def integer(name: str) -> int | None:
        value = doc.get(name)
        return None if value is None else int(value)

    return Status(
        envelope=envelope,
        at=_parse_time(doc["at"]),
        state=doc["state"],
        battery_pct=number("battery_pct"),
        charging=doc.get("charging"),
        firmware=doc.get("firmware"),
        rssi_dbm=number("rssi_dbm"),
        buffered_n=integer("buffered_n"),
        clock_offset_ms=number("clock_offset_ms"),
        config_id=integer("config_id"),
    )
