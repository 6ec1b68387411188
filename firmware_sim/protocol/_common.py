"""What every part of the protocol shares: versions, limits, names, topics and timestamps."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final, Literal, get_args

PROTOCOL_VERSION: Final = 1
MAX_PAYLOAD_BYTES: Final = 262_144
TOPIC_ROOT: Final = "stayactive/v1"

Channel = Literal["telemetry", "events", "status", "config", "ack"]
Encoding = Literal["json", "cbor"]
RejectReason = Literal[
    "payload_too_large",
    "undecodable",
    "unsupported_version",
    "topic_mismatch",
    "wrong_channel",
    "unknown_device",
    "inactive_device",
    "wrong_device_kind",
    "schema_invalid",
    "array_length_mismatch",
    "value_out_of_range",
    "value_not_storable",
    "timestamp_in_future",
    "timestamp_too_old",
    "key_conflict",
]
#: Reject reason codes in the order the backend checks them (docs/protocol.md, "Rejects").
REJECT_REASONS: Final[tuple[RejectReason, ...]] = get_args(RejectReason)

#: A decoded message: a JSON object with text keys.
Message = dict[str, Any]

CHANNEL_OF_TYPE: Final[Mapping[str, Channel]] = {
    "walker.telemetry": "telemetry",
    "robot.event": "events",
    "status": "status",
    "config": "config",
}
CONTENT_TYPES: Final[Mapping[Encoding, str]] = {
    "json": "application/json",
    "cbor": "application/cbor",
}
DEVICE_ID_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
TIMESTAMP_PATTERN: Final = re.compile(
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{3}Z$"
)

#: Allowed range of each walker sample array, in its wire unit. A real sensor saturates at its
#: full scale, so a sensor model should clip to these before building a frame.
SAMPLE_LIMITS: Final[Mapping[str, tuple[float, float]]] = {
    "acc": (-160.0, 160.0),  # m/s², about ±16 g
    "gyro": (-35.0, 35.0),  # rad/s, about ±2000 °/s
    "odo": (-0.5, 0.5),  # m per sample
    "force": (0.0, 1500.0),  # N
}

# Decimals kept on the wire: well below each sensor's noise, so rounding loses nothing useful,
# and it roughly halves a JSON telemetry payload compared with full float64 repr.
_DECIMALS: Final[Mapping[str, int]] = {"acc": 4, "gyro": 4, "odo": 5, "force": 1}
_MAX_SAMPLES: Final = 2000
_MAX_FRAMES: Final = 60
_JSON_WHITESPACE: Final = b" \t\r\n"


class ProtocolError(ValueError):
    """Bytes or a message that do not follow the protocol (undecodable, malformed config)."""


# ----------------------------------------------------------------------------- topics and time


def topic(device_id: str, channel: Channel) -> str:
    """The MQTT topic ``stayactive/v1/{device_id}/{channel}``.

    Raises
    ------
    ProtocolError
        If ``device_id`` does not match :data:`DEVICE_ID_PATTERN` or the channel is unknown.
    """
    if not DEVICE_ID_PATTERN.match(device_id):
        raise ProtocolError(f"invalid device id {device_id!r}")
    if channel not in get_args(Channel):
        raise ProtocolError(f"unknown channel {channel!r}")
    return f"{TOPIC_ROOT}/{device_id}/{channel}"


def parse_topic(text: str) -> tuple[str, Channel]:
    """Split a protocol topic into ``(device_id, channel)``.

    Raises
    ------
    ProtocolError
        If the topic is not ``stayactive/v1/{device_id}/{channel}`` with a valid id and channel.
    """
    parts = text.split("/")
    if len(parts) != 4 or "/".join(parts[:2]) != TOPIC_ROOT:
        raise ProtocolError(f"not a protocol topic: {text!r}")
    device_id, channel = parts[2], parts[3]
    if not DEVICE_ID_PATTERN.match(device_id):
        raise ProtocolError(f"invalid device id in topic {text!r}")
    for known in get_args(Channel):
        if channel == known:
            return device_id, known
    raise ProtocolError(f"unknown channel in topic {text!r}")


def channel_of(msg: Mapping[str, Any]) -> Channel:
    """The channel a message of this ``type`` belongs on.

    Raises
    ------
    ProtocolError
        If the message has no known ``type``.
    """
    type_name = msg.get("type")
    if not isinstance(type_name, str) or type_name not in CHANNEL_OF_TYPE:
        raise ProtocolError(f"unknown message type {type_name!r}")
    return CHANNEL_OF_TYPE[type_name]


def topic_of(msg: Mapping[str, Any]) -> str:
    """The topic a message is published on, from its ``device_id`` and ``type``."""
    device_id = msg.get("device_id")
    if not isinstance(device_id, str):
        raise ProtocolError(f"message has no device id: {device_id!r}")
    return topic(device_id, channel_of(msg))


def format_timestamp(at: datetime) -> str:
    """Format an aware datetime as UTC RFC 3339 with milliseconds and ``Z``.

    Sub-millisecond digits are truncated, not rounded: rounding 59.9996 s up would need a carry
    into the minutes, and a timestamp must never move later than the instant it records.

    Raises
    ------
    ProtocolError
        If ``at`` is naive: a device clock without a known zone cannot be put on the wire.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ProtocolError(f"timestamp {at!r} has no time zone")
    utc = at.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_timestamp(text: str) -> datetime:
    """Parse a wire timestamp (``YYYY-MM-DDTHH:MM:SS.mmmZ``) into an aware UTC datetime.

    Raises
    ------
    ProtocolError
        If the text is not exactly in the wire format or names an impossible date.
    """
    if not TIMESTAMP_PATTERN.match(text):
        raise ProtocolError(f"not a protocol timestamp: {text!r}")
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError as exc:  # e.g. 2026-02-30
        raise ProtocolError(f"not a protocol timestamp: {text!r}") from exc


def _number(value: float) -> int | float:
    # 50.0 Hz goes on the wire as 50: shorter, and what a person writing JSON by hand would send.
    return int(value) if float(value).is_integer() else float(value)


def _header(type_name: str, device_id: str, boot: int, seq: int, sent_at: datetime) -> Message:
    if not DEVICE_ID_PATTERN.match(device_id):
        raise ProtocolError(f"invalid device id {device_id!r}")
    if boot < 0 or seq < 1:
        raise ProtocolError(f"boot must be >= 0 and seq >= 1, got boot={boot} seq={seq}")
    return {
        "v": PROTOCOL_VERSION,
        "type": type_name,
        "device_id": device_id,
        "boot": boot,
        "seq": seq,
        "sent_at": format_timestamp(sent_at),
    }
