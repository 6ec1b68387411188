"""Validate device messages against the published protocol (docs/protocol.md, "Rejects").

The checks run in the documented order and the first failure names the reason. Structure comes
from the published JSON Schemas in ``ingest/schemas``; the walker's sample arrays, thousands of
numbers per message, are checked with numpy against the bounds read from the same schema, so the
schema stays the one source of every limit.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
from jsonschema import Draft202012Validator, FormatChecker

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

MAX_PAYLOAD_BYTES = 256 * 1024
PROTOCOL_VERSION = 1
MAX_FUTURE = timedelta(minutes=5)

TOPIC = re.compile(r"^stayactive/v1/([A-Za-z0-9][A-Za-z0-9_-]{0,63})/([a-z]+)$")
CHANNEL_OF_TYPE = {
    "walker.telemetry": "telemetry",
    "robot.event": "events",
    "status": "status",
    "config": "config",
}
SCHEMA_OF_TYPE = {
    "walker.telemetry": "walker-telemetry",
    "robot.event": "robot-event",
    "status": "status",
}
_RANGE_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
_TIME_FIELDS = ("sent_at", "at", "t0", "started_at", "ended_at")
_ENVELOPE = ("v", "type", "device_id", "boot", "seq")


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


def load_schema(name: str) -> dict[str, Any]:
    """The published JSON Schema ``name`` (e.g. ``status``) shipped in ``ingest/schemas``."""
    text = resources.files("ingest").joinpath("schemas", f"{name}.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _without(node: Any, drop: Callable[[dict[str, Any]], None]) -> Any:
    if isinstance(node, dict):
        node = {k: _without(v, drop) for k, v in node.items()}
        drop(node)
    elif isinstance(node, list):
        node = [_without(v, drop) for v in node]
    return node


def _drop_ranges(node: dict[str, Any]) -> None:
    for keyword in _RANGE_KEYWORDS:
        node.pop(keyword, None)


@cache
def _validators(message_type: str) -> tuple[Draft202012Validator, Draft202012Validator]:
    """(structure without range bounds, full) validators; sample arrays lose their items' checks,
    which _frame does with numpy."""
    schema = copy.deepcopy(load_schema(SCHEMA_OF_TYPE[message_type]))
    if message_type == "walker.telemetry":
        for name in FLOAT_CHANNELS:
            schema["$defs"]["frame"]["properties"][name].pop("items")
    checker = FormatChecker()
    return (
        Draft202012Validator(_without(schema, _drop_ranges), format_checker=checker),
        Draft202012Validator(schema, format_checker=checker),
    )


@cache
def _array_bounds() -> dict[str, tuple[float, float]]:
    props = load_schema("walker-telemetry")["$defs"]["frame"]["properties"]
    return {
        name: (float(props[name]["items"]["minimum"]), float(props[name]["items"]["maximum"]))
        for name in FLOAT_CHANNELS
    }


def validate(message: Received, lookup: DeviceLookup, *, retention: timedelta) -> Accepted | Reject:
    """Validate one received message; bad input never raises, it becomes a :class:`Reject`."""
    match = TOPIC.match(message.topic)
    topic_device = match.group(1) if match else None
    try:
        if match is None:
            raise _Invalid("bad_topic", f"{message.topic!r} is not stayactive/v1/<id>/<channel>")
        return _validate(message, match.group(1), match.group(2), lookup, retention)
    except _Invalid as bad:
        return Reject(
            topic=message.topic,
            device_id=topic_device,
            reason=bad.reason,
            detail=bad.detail[:2000],
            payload=message.payload,
            received_at=message.received_at,
        )


def _validate(
    message: Received, topic_device: str, channel: str, lookup: DeviceLookup, retention: timedelta
) -> Accepted:
    # 1-2. size and encoding
    if len(message.payload) > MAX_PAYLOAD_BYTES:
        raise _Invalid("payload_too_large", f"{len(message.payload)} bytes > {MAX_PAYLOAD_BYTES}")
    try:
        doc = decode(message.payload, message.content_type)
    except Undecodable as exc:
        raise _Invalid("undecodable", str(exc)) from exc
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
    # 8-10. structure, array lengths, ranges
    structure, full = _validators(message_type)
    _first_error(structure, doc, "schema_invalid")
    frames = doc.get("frames", [])
    arrays = [_arrays(i, f) for i, f in enumerate(frames)]
    _first_error(full, doc, "value_out_of_range")
    _finite(doc)
    for i, values in enumerate(arrays):
        _in_bounds(i, values)
    # 11-12. timestamps
    times = [_parse_time(t) for t in _timestamps(doc)]
    _check_times(times, message.received_at, retention)

    envelope = Envelope(
        device_id=topic_device,
        tenant_id=device.tenant_id,
        boot=doc["boot"],
        seq=doc["seq"],
        sent_at=_parse_time(doc["sent_at"]) if "sent_at" in doc else None,
        received_at=message.received_at,
    )
    if message_type == "walker.telemetry":
        return WalkerTelemetry(
            envelope, [_frame(f, a) for f, a in zip(frames, arrays, strict=True)]
        )
    if message_type == "robot.event":
        body = {k: v for k, v in doc.items() if k not in _ENVELOPE}
        return RobotEvent(envelope, _parse_time(doc["at"]), doc["event"], doc["session_id"], body)
    return _status(envelope, doc)


def _first_error(validator: Draft202012Validator, doc: dict[str, Any], reason: str) -> None:
    error = next(iter(validator.iter_errors(doc)), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(message)"
        raise _Invalid(reason, f"{where}: {error.message}"[:500])


def _arrays(index: int, frame: dict[str, Any]) -> dict[str, np.ndarray[Any, np.dtype[np.float64]]]:
    """Step 8 for the sample arrays (numbers only) and step 9 (equal lengths)."""
    values = {}
    for name in FLOAT_CHANNELS:
        raw = frame[name]
        if not set(map(type, raw)) <= {int, float}:
            raise _Invalid("schema_invalid", f"frames/{index}/{name} holds something not a number")
        values[name] = np.asarray(raw, dtype=np.float64)
    lengths = {name: len(frame[name]) for name in (*FLOAT_CHANNELS, "brake")}
    if len(set(lengths.values())) != 1:
        raise _Invalid("array_length_mismatch", f"frames/{index}: array lengths {lengths}")
    return values


def _in_bounds(index: int, values: dict[str, np.ndarray[Any, np.dtype[np.float64]]]) -> None:
    for name, (low, high) in _array_bounds().items():
        bad = ~((values[name] >= low) & (values[name] <= high))  # NaN fails both comparisons
        if bad.any():
            i = int(np.argmax(bad))
            raise _Invalid(
                "value_out_of_range",
                f"frames/{index}/{name}/{i} = {values[name][i]!r} outside [{low}, {high}]",
            )


def _finite(doc: dict[str, Any]) -> None:
    # NaN and infinity (possible in CBOR) pass the schema's range keywords unnoticed.
    stack: list[Any] = [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise _Invalid("value_out_of_range", f"non-finite number {item!r}")
        if isinstance(item, dict):
            stack.extend(v for k, v in item.items() if k not in FLOAT_CHANNELS)
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


def _frame(raw: dict[str, Any], values: dict[str, np.ndarray[Any, np.dtype[np.float64]]]) -> Frame:
    return Frame(
        t0=_parse_time(raw["t0"]),
        rate_hz=float(raw["rate_hz"]),
        channels=tuple(values[name].tolist() for name in FLOAT_CHANNELS),
        brake=[b == 1 for b in raw["brake"]],
    )


def _status(envelope: Envelope, doc: dict[str, Any]) -> Status:
    def number(name: str) -> float | None:
        value = doc.get(name)
        return None if value is None else float(value)

    return Status(
        envelope=envelope,
        at=_parse_time(doc["at"]),
        state=doc["state"],
        battery_pct=number("battery_pct"),
        charging=doc.get("charging"),
        firmware=doc.get("firmware"),
        rssi_dbm=number("rssi_dbm"),
        buffered_n=doc.get("buffered_n"),
        clock_offset_ms=number("clock_offset_ms"),
        config_id=doc.get("config_id"),
    )
