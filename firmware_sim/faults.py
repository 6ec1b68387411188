"""Opt-in faults: turn a good message into a bad publication and say how ingest must reject it.

Each function takes a well-formed device-to-backend message (a dict from
:mod:`firmware_sim.protocol`; not a config downlink) and returns a :class:`FaultCase`: the topic
to publish on, the payload bytes, and the reject reason code that docs/protocol.md prescribes for
it. The simulator sends these only when asked to, and ingest tests assert the reason code. The
input message is never modified.

A fault keeps the message's ``(device_id, boot, seq)`` unless that field is the fault: send it
*instead of* the good message with that seq, not in addition, so that a fault ingest wrongly
accepted could not shadow the good copy through deduplication.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, Final, NamedTuple

from firmware_sim.protocol import (
    MAX_PAYLOAD_BYTES,
    TIMESTAMP_PATTERN,
    Channel,
    Encoding,
    Message,
    RejectReason,
    channel_of,
    encode,
    format_timestamp,
    parse_timestamp,
    topic,
    topic_of,
)

__all__ = [
    "FAULTS",
    "FaultCase",
    "device_id_mismatch",
    "future_timestamps",
    "missing_field",
    "out_of_range",
    "oversized",
    "truncated",
    "unequal_arrays",
    "wrong_channel",
    "wrong_version",
]


#: The most an oversized fault grows to: past the protocol's limit, within the broker's.
OVERSIZE_MAX_BYTES = MAX_PAYLOAD_BYTES + 2048


class FaultCase(NamedTuple):
    """A bad publication: where it goes, what it carries, and the reject reason it must get."""

    topic: str
    payload: bytes
    expected_reason: RejectReason


def _copy(msg: Mapping[str, Any]) -> Message:
    return copy.deepcopy(dict(msg))


def truncated(msg: Mapping[str, Any], encoding: Encoding = "json") -> FaultCase:
    """The first half of the encoded message, as if the connection dropped mid-write.

    Half a JSON object lacks its closing brace and half a CBOR map runs out of bytes, so neither
    decodes: reason ``undecodable``.
    """
    payload = encode(msg, encoding)
    return FaultCase(topic_of(msg), payload[: max(1, len(payload) // 2)], "undecodable")


def wrong_version(msg: Mapping[str, Any], encoding: Encoding = "json") -> FaultCase:
    """The message claiming schema version 99: reason ``unsupported_version``."""
    bad = _copy(msg)
    bad["v"] = 99
    return FaultCase(topic_of(msg), encode(bad, encoding), "unsupported_version")


def oversized(msg: Mapping[str, Any], encoding: Encoding = "json") -> FaultCase:
    """The message grown just past 256 KiB: reason ``payload_too_large``.

    Walker telemetry grows the way a misconfigured device would (frames stretched to 2000
    samples, then more frames; the last one only as long as it takes to pass the limit), so
    only its size is wrong. Other types get a long ``padding`` field; the size check comes
    first, so the reason is the same. Either way the payload stays within
    :data:`OVERSIZE_MAX_BYTES`, inside the broker's packet limit, so the backend sees it and
    rejects it with a reason (far larger packets are refused by the broker, which closes the
    connection; see docs/protocol.md, "Size limit").
    """
    bad = _copy(msg)
    if bad.get("type") == "walker.telemetry" and bad.get("frames"):
        bad["frames"] = _grown_frames(bad["frames"], encoding)
    else:
        bad["padding"] = ""
        for _ in range(4):  # a CBOR string's length header depends on its length: converge
            missing = MAX_PAYLOAD_BYTES + 100 - len(encode(bad, encoding))
            bad["padding"] = "x" * max(0, len(bad["padding"]) + missing)
    payload = encode(bad, encoding)
    assert MAX_PAYLOAD_BYTES < len(payload) <= OVERSIZE_MAX_BYTES, len(payload)
    return FaultCase(topic_of(msg), payload, "payload_too_large")


def _grown_frames(frames: list[dict[str, Any]], encoding: Encoding) -> list[dict[str, Any]]:
    first = dict(frames[0])
    for key, values in frames[0].items():
        if isinstance(values, list) and values:
            first[key] = (values * (2000 // len(values) + 1))[:2000]
    # Each further frame starts where the previous one ended, so the frames stay plausible.
    step_s = 2000 / float(first["rate_hz"])

    def size(result: list[dict[str, Any]]) -> int:
        return len(encode({"frames": result}, encoding))

    def after(result: list[dict[str, Any]], samples: int) -> list[dict[str, Any]]:
        t0 = parse_timestamp(result[-1]["t0"]) + timedelta(seconds=step_s)
        cut = {k: (v[:samples] if isinstance(v, list) else v) for k, v in first.items()}
        return [*result, {**cut, "t0": format_timestamp(t0)}]

    result = [first]
    while size(after(result, 2000)) <= MAX_PAYLOAD_BYTES:
        result = after(result, 2000)
    low, high = 1, 2000  # the shortest last frame that passes the limit
    while low < high:
        mid = (low + high) // 2
        if size(after(result, mid)) > MAX_PAYLOAD_BYTES:
            high = mid
        else:
            low = mid + 1
    return after(result, low)


def out_of_range(msg: Mapping[str, Any], encoding: Encoding = "json") -> FaultCase:
    """One value outside its documented range: reason ``value_out_of_range``.

    Telemetry gets an acceleration of 1000 m/s² (beyond any sensor's full scale), a full status
    a battery of 150 %, a sit-to-stand test a negative duration, anything else a negative
    ``seq``. The rest of the message stays valid, so the only
    schema violation is a range bound.
    """
    bad = _copy(msg)
    kind = bad.get("type")
    if kind == "walker.telemetry" and bad.get("frames"):
        bad["frames"][0]["acc_z"][0] = 1000.0
    elif kind == "status" and "battery_pct" in bad:
        bad["battery_pct"] = 150.0
    elif kind == "robot.event" and bad.get("event") == "sit_to_stand_test":
        bad["total_s"] = -5.0
    else:
        bad["seq"] = -1
    return FaultCase(topic_of(msg), encode(bad, encoding), "value_out_of_range")


def device_id_mismatch(msg: Mapping[str, Any], encoding: Encoding = "json") -> FaultCase:
    """Published on the device's own topic but naming another (valid) device id inside.

    Reason ``topic_mismatch``. The other id differs only in its first character, so it is as
    valid as the original and the payload passes the schema.
    """
    bad = _copy(msg)
    device_id = str(bad["device_id"])
    bad["device_id"] = ("Y" if device_id[0] == "X" else "X") + device_id[1:]
    return FaultCase(topic_of(msg), encode(bad, encoding), "topic_mismatch")


def future_timestamps(
    msg: Mapping[str, Any],
    encoding: Encoding = "json",
    *,
    ahead: timedelta = timedelta(days=1),
) -> FaultCase:
    """Every timestamp moved ``ahead`` (default one day), as from a clock set wrongly.

    Reason ``timestamp_in_future``, provided the original timestamps were near the time ingest
    receives the message (``ahead`` must exceed the 5 min tolerance).
    """
    bad = _shift_timestamps(_copy(msg), ahead)
    return FaultCase(topic_of(msg), encode(bad, encoding), "timestamp_in_future")


def _shift_timestamps(value: Any, delta: timedelta) -> Any:
    if isinstance(value, str) and TIMESTAMP_PATTERN.match(value):
        return format_timestamp(parse_timestamp(value) + delta)
    if isinstance(value, dict):
        return {key: _shift_timestamps(item, delta) for key, item in value.items()}
    if isinstance(value, list):
        return [_shift_timestamps(item, delta) for item in value]
    return value


def unequal_arrays(msg: Mapping[str, Any], encoding: Encoding = "json") -> FaultCase:
    """Walker telemetry whose first frame lacks the last ``acc_x`` sample.

    Reason ``array_length_mismatch``: every array is still valid on its own, so only the
    backend's length check (not the schema) can see it.

    Raises
    ------
    ValueError
        If ``msg`` is not walker telemetry with a frame of at least two samples.
    """
    bad = _copy(msg)
    frames = bad.get("frames") if bad.get("type") == "walker.telemetry" else None
    if not frames or len(frames[0]["acc_x"]) < 2:
        raise ValueError("unequal_arrays needs walker telemetry with at least two samples")
    frames[0]["acc_x"].pop()
    return FaultCase(topic_of(msg), encode(bad, encoding), "array_length_mismatch")


def wrong_channel(msg: Mapping[str, Any], encoding: Encoding = "json") -> FaultCase:
    """A valid message on a device channel its type does not belong to: ``wrong_channel``.

    Telemetry goes to ``events``, everything else to ``telemetry`` (channels the device's ACL
    lets it write, so the broker delivers it and ingest has to notice).
    """
    other: Channel = "events" if channel_of(msg) == "telemetry" else "telemetry"
    return FaultCase(topic(str(msg["device_id"]), other), encode(msg, encoding), "wrong_channel")


def missing_field(msg: Mapping[str, Any], encoding: Encoding = "json") -> FaultCase:
    """The message without its required ``boot`` field: reason ``schema_invalid``."""
    bad = _copy(msg)
    del bad["boot"]
    return FaultCase(topic_of(msg), encode(bad, encoding), "schema_invalid")


#: Every fault by name, for the simulator's command line (``--fault NAME``) and for tests.
FAULTS: Final[Mapping[str, Callable[[Mapping[str, Any], Encoding], FaultCase]]] = {
    "truncated": truncated,
    "wrong_version": wrong_version,
    "oversized": oversized,
    "out_of_range": out_of_range,
    "device_id_mismatch": device_id_mismatch,
    "future_timestamps": future_timestamps,
    "unequal_arrays": unequal_arrays,
    "wrong_channel": wrong_channel,
    "missing_field": missing_field,
}
