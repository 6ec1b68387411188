"""The fast path for walker telemetry: decode and validate in one pass with msgspec.

Walker telemetry is almost all of the traffic: thousands of numbers per message. Here a typed
decoder compiled from the published schema (``ingest/schemas/walker-telemetry.schema.json``)
checks types, required fields, unknown fields, array sizes and every range bound while it
decodes, in C. Whatever it does not accept outright goes to the exact checks of
:func:`ingest.validate.validate_exact`, which give every reject its documented reason in the
documented order. So the fast path can only ever *accept*; it must never accept what the exact
checks reject, and tests hold the two to the same verdict (tests/ingest/test_fastpath.py).

What msgspec does not check, done here: the constant fields, the device id against the topic
and the registry, the timestamps' form and window, equal array lengths, and repeated keys
(msgspec keeps the last of a repeated key; a count of the payload's key tokens tells when that
could have happened).

JSON's sample arrays are first taken as raw text and parsed into one numpy array in one call
(:mod:`ingest.sample_arrays`), with their length and range bounds checked there and here;
when that cannot read them, the typed decoder (lists of bounded floats) decodes the message.
"""

from __future__ import annotations

import itertools
import operator
import re
from datetime import datetime, timedelta
from functools import cache
from typing import Annotated, Any

import msgspec
import numpy as np

from ingest import sample_arrays
from ingest.decode import CBOR_TYPE, JSON_TYPE, Undecodable, decode
from ingest.messages import FLOAT_CHANNELS, Envelope, Frame, Received, WalkerTelemetry
from ingest.schema_rules import FrameRules, Samples, load_schema
from ingest.validate import (
    KIND_OF_TYPE,
    MAX_FUTURE,
    MAX_PAYLOAD_BYTES,
    PROTOCOL_VERSION,
    TOPIC,
    DeviceLookup,
)

MESSAGE_TYPE = "walker.telemetry"
CHANNEL = "telemetry"
# A frame's sample arrays in storage order, in one call.
_channels = operator.attrgetter(*FLOAT_CHANNELS)
# A key token is a string followed by optional white space and a colon. Every key of the payload
# matches once, and a string value can only add matches: as many matches as decoded keys means
# that no key was repeated.
_KEY_TOKEN = re.compile(rb'"[ \t\r\n]*:')
# What the fast path understands of a schema node; anything else in the schema stops it from
# loading (a test fails), so that a schema change cannot silently bypass the fast path's checks.
_UNDERSTOOD = frozenset(
    ("$ref", "description", "title", "type", "minimum", "maximum", "minItems", "maxItems",
     "items", "const", "enum", "pattern", "format")
)  # fmt: skip


def _checked(node: dict[str, Any], where: str) -> dict[str, Any]:
    unknown = set(node) - _UNDERSTOOD
    assert not unknown, f"the fast path does not implement {sorted(unknown)} at {where}"
    return node


def _number(node: dict[str, Any], where: str, kind: type) -> Any:
    """``int`` or ``float`` with the node's bounds, as msgspec checks them while decoding."""
    _checked(node, where)
    assert node["type"] == ("integer" if kind is int else "number"), where
    bounds = {"ge": node.get("minimum"), "le": node.get("maximum")}
    return Annotated[kind, msgspec.Meta(**{k: v for k, v in bounds.items() if v is not None})]


def _array(node: dict[str, Any], where: str, item: Any) -> Any:
    _checked(node, where)
    assert node["type"] == "array", where
    return Annotated[
        list[item], msgspec.Meta(min_length=node["minItems"], max_length=node["maxItems"])
    ]


@cache
def _types(raw_samples: bool = False) -> tuple[type[msgspec.Struct], re.Pattern[str]]:
    """The telemetry message as msgspec Structs, built from the published schema; with
    ``raw_samples`` the float arrays are left as their JSON text, checked by the caller."""
    schema = load_schema("walker-telemetry")
    defs = schema["$defs"]
    frame = defs["frame"]
    props = frame["properties"]
    assert set(frame["required"]) == set(props) and frame["additionalProperties"] is False
    assert set(schema["required"]) == set(schema["properties"]), "all fields are required"
    assert schema["additionalProperties"] is False
    timestamp = _checked(defs["timestamp"], "timestamp")
    assert timestamp["type"] == "string" and timestamp["format"] == "date-time"
    assert _checked(props["t0"], "t0")["$ref"] == "#/$defs/timestamp"
    brake = props["brake"]
    assert brake["items"] == {"type": "integer", "enum": [0, 1]}
    fields: list[tuple[str, Any]] = [
        ("t0", str),
        ("rate_hz", _number(props["rate_hz"], "rate_hz", float)),
    ]
    for name in FLOAT_CHANNELS:
        typed = _array(props[name], name, _number(props[name]["items"], name, float))
        fields.append((name, msgspec.Raw if raw_samples else typed))
    fields.append(("brake", _array(brake, "brake", Annotated[int, msgspec.Meta(ge=0, le=1)])))
    assert [n for n, _ in fields] == list(props), "field order as in the schema"
    frame_struct = msgspec.defstruct(
        "FrameRawWire" if raw_samples else "FrameWire", fields, forbid_unknown_fields=True
    )

    top = schema["properties"]
    assert _checked(top["v"], "v")["$ref"] == "#/$defs/version" and defs["version"]["const"] == 1
    assert top["type"]["const"] == MESSAGE_TYPE
    assert top["device_id"]["$ref"] == "#/$defs/deviceId"
    # The topic's pattern is the schema's device id pattern: equal to the topic's id is valid.
    assert TOPIC.pattern.startswith("^stayactive/v1/(" + defs["deviceId"]["pattern"][1:-1] + ")/")
    assert top["sent_at"]["$ref"] == "#/$defs/timestamp"
    message_struct = msgspec.defstruct(
        "TelemetryRawWire" if raw_samples else "TelemetryWire",
        [
            ("v", int),
            ("type", str),
            ("device_id", str),
            ("boot", _number(defs[top["boot"]["$ref"].rsplit("/", 1)[1]], "boot", int)),
            ("seq", _number(defs[top["seq"]["$ref"].rsplit("/", 1)[1]], "seq", int)),
            ("sent_at", str),
            ("frames", _array(top["frames"], "frames", frame_struct)),
        ],
        forbid_unknown_fields=True,
    )
    # fullmatch: the schema's "$" would also let a trailing newline through re.match.
    return message_struct, re.compile(timestamp["pattern"].removeprefix("^").removesuffix("$"))


@cache
def _decoder(raw_samples: bool = False) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(_types(raw_samples)[0])


def _keys_per_message(n_frames: int) -> int:
    struct = _types()[0]
    frame_fields = len(struct.__annotations__["frames"].__origin__.__args__[0].__struct_fields__)
    return len(struct.__struct_fields__) + n_frames * frame_fields


def _time(text: str, pattern: re.Pattern[str]) -> datetime | None:
    if pattern.fullmatch(text) is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:  # 30 February matches the pattern
        return None


def accept(
    message: Received, lookup: DeviceLookup, *, retention: timedelta
) -> WalkerTelemetry | None:
    """``message`` as validated walker telemetry, or None when the exact checks must decide."""
    match = TOPIC.match(message.topic)
    if match is None or match.group(2) != CHANNEL or message.payload_size > MAX_PAYLOAD_BYTES:
        return None
    payload = message.payload
    kind = _kind(payload, message.content_type)
    samples: Samples | None = None
    try:
        if kind == JSON_TYPE:
            wire = _decoder(raw_samples=True).decode(payload)
            samples = _raw_samples(wire)
            if samples is None:
                wire = _decoder().decode(payload)
        elif kind == CBOR_TYPE:
            wire = msgspec.convert(decode(payload, message.content_type), _types()[0])
        else:
            return None
    except (msgspec.ValidationError, msgspec.DecodeError, Undecodable):
        return None
    device_id = match.group(1)
    if (
        wire.v != PROTOCOL_VERSION
        or wire.type != MESSAGE_TYPE
        or wire.device_id != device_id
        or (kind == JSON_TYPE and not _no_repeated_keys(payload, len(wire.frames)))
    ):
        return None
    device = lookup(device_id)
    if device is None or not device.active or device.kind != KIND_OF_TYPE[MESSAGE_TYPE]:
        return None
    pattern = _types()[1]
    sent_at = _time(wire.sent_at, pattern)
    if sent_at is None:
        return None
    starts = [_time(f.t0, pattern) for f in wire.frames]
    if None in starts:
        return None
    times = [t for t in starts if t is not None]
    newest, oldest = max(sent_at, *times), min(sent_at, *times)
    # One array for all the frames' samples, (frames, channels, samples). Every array of
    # every frame must have the same length: frames of different lengths are legal, and left
    # to the exact path, which is slower but right.
    if samples is None:
        samples = _typed_samples(wire)
    if samples is None or any(len(f.brake) != samples.shape[2] for f in wire.frames):
        return None
    brakes = np.array([f.brake for f in wire.frames], dtype=np.bool_)
    frames = [
        Frame(t0, f.rate_hz, samples[i], brakes[i])
        for i, (t0, f) in enumerate(zip(times, wire.frames, strict=True))
    ]
    received_at = message.received_at
    if newest > received_at + MAX_FUTURE or oldest < received_at - retention:
        return None
    envelope = Envelope(
        device_id=device_id,
        tenant_id=device.tenant_id,
        boot=wire.boot,
        seq=wire.seq,
        sent_at=sent_at,
        received_at=received_at,
        payload_sha256=message.payload_sha256(),
    )
    return WalkerTelemetry(envelope, frames)


def _raw_samples(wire: Any) -> Samples | None:
    """The sample arrays of a message decoded with ``raw_samples``, checked against the
    schema's sizes and bounds as the typed decoder checks them, or None."""
    rules = FrameRules.load()
    flat = sample_arrays.parse([a for f in wire.frames for a in _channels(f)], rules.n_samples)
    if flat is None:
        return None
    samples = flat.reshape(len(wire.frames), len(FLOAT_CHANNELS), -1)
    if not ((samples >= rules.low) & (samples <= rules.high)).all():
        return None
    return samples


def _typed_samples(wire: Any) -> Samples | None:
    """The sample arrays of a message decoded with typed lists (already within the schema's
    sizes and bounds), filled from one iterator: half the time of numpy walking nested lists."""
    arrays = [array for f in wire.frames for array in _channels(f)]
    n = len(arrays[0]) if arrays else 0
    if not arrays or any(len(a) != n for a in arrays):
        return None
    return np.fromiter(itertools.chain.from_iterable(arrays), np.float64, len(arrays) * n).reshape(
        len(wire.frames), len(FLOAT_CHANNELS), n
    )


def _kind(payload: bytes, content_type: str | None) -> str | None:
    if content_type is not None:
        kind = content_type.split(";", 1)[0].strip().lower()
        return kind if kind in (JSON_TYPE, CBOR_TYPE) else None
    if payload[:1] == b"{":
        return JSON_TYPE
    if payload and 0xA0 <= payload[0] <= 0xBF:
        return CBOR_TYPE
    return None  # leading white space and the rest: the exact path decides


def _no_repeated_keys(payload: bytes, n_frames: int) -> bool:
    return len(_KEY_TOKEN.findall(payload)) == _keys_per_message(n_frames)
