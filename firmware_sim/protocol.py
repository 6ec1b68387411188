"""The device side of the StayActive wire protocol: build, encode and decode messages.

``docs/protocol.md`` is the contract; this module is the simulator's implementation of it and the
reference for what a well-behaved device sends. It stands alone on purpose (nothing from
``ingest`` or ``stayactive``): the simulator must exercise the backend only through the wire
format, exactly as a vendor's device would.

Builders return plain ``dict`` messages; :func:`encode` turns one into bytes (compact JSON or
CBOR) and :func:`decode` turns bytes back into a dict following the protocol's encoding
detection rule. Timestamps go in and out as timezone-aware :class:`~datetime.datetime` objects
and travel as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` strings.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal, get_args

import cbor2
import numpy as np
import numpy.typing as npt

__all__ = [
    "CHANNEL_OF_TYPE",
    "CONTENT_TYPES",
    "DEFAULT_CONFIG",
    "DEVICE_ID_PATTERN",
    "MAX_PAYLOAD_BYTES",
    "PROTOCOL_VERSION",
    "REJECT_REASONS",
    "SAMPLE_LIMITS",
    "TIMESTAMP_PATTERN",
    "TOPIC_ROOT",
    "Channel",
    "DeviceConfig",
    "Encoding",
    "Message",
    "ProtocolError",
    "RejectReason",
    "WalkerFrame",
    "channel_of",
    "config_message",
    "decode",
    "detect_encoding",
    "device_status",
    "encode",
    "format_timestamp",
    "offline_will",
    "parse_config",
    "parse_timestamp",
    "parse_topic",
    "robot_exercise",
    "robot_session_end",
    "robot_session_start",
    "robot_sit_to_stand_test",
    "topic",
    "topic_of",
    "walker_telemetry",
]

PROTOCOL_VERSION: Final = 1
MAX_PAYLOAD_BYTES: Final = 262_144
TOPIC_ROOT: Final = "stayactive/v1"

Channel = Literal["telemetry", "events", "status", "config"]
Encoding = Literal["json", "cbor"]
RejectReason = Literal[
    "payload_too_large",
    "undecodable",
    "unsupported_version",
    "topic_mismatch",
    "wrong_channel",
    "unknown_device",
    "inactive_device",
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


# ----------------------------------------------------------------------------- walker telemetry


@dataclass(frozen=True, eq=False)
class WalkerFrame:
    """One frame of walker samples at a fixed rate, in SI units and the device's axes.

    Sample ``i`` was taken at ``t0 + i / rate_hz``. Axes: x forward (walking direction),
    y to the left, z up; acceleration includes gravity (about +9.81 m/s² on z at rest).

    Attributes
    ----------
    t0 : datetime
        Time of the first sample, timezone-aware.
    rate_hz : float
        Sampling rate, 1..200 Hz.
    acc_m_s2 : ndarray, shape (n, 3)
        Acceleration x, y, z in m/s².
    gyro_rad_s : ndarray, shape (n, 3)
        Angular rate about x, y, z in rad/s.
    odo_m : ndarray, shape (n, 2)
        Distance travelled by the left and right wheel since the previous sample, metres.
    force_n : ndarray, shape (n, 2)
        Force on the left and right handle, newtons.
    brake : ndarray, shape (n,)
        Parking brake engaged (true or 1) per sample.

    Notes
    -----
    Values are sent as given (only rounded); the frame does not clip them, so a sensor model
    should saturate at :data:`SAMPLE_LIMITS` as real hardware does.
    """

    t0: datetime
    rate_hz: float
    acc_m_s2: npt.NDArray[np.float64]
    gyro_rad_s: npt.NDArray[np.float64]
    odo_m: npt.NDArray[np.float64]
    force_n: npt.NDArray[np.float64]
    brake: npt.NDArray[np.bool_]

    def __post_init__(self) -> None:
        if self.t0.tzinfo is None or self.t0.utcoffset() is None:
            raise ProtocolError("frame t0 must be timezone-aware")
        if not 1 <= self.rate_hz <= 200:
            raise ProtocolError(f"rate_hz {self.rate_hz} outside 1..200")
        if np.ndim(self.brake) != 1:
            raise ProtocolError(f"brake must be one-dimensional, has shape {np.shape(self.brake)}")
        n = self.n_samples
        if not 1 <= n <= _MAX_SAMPLES:
            raise ProtocolError(f"a frame holds 1..{_MAX_SAMPLES} samples, not {n}")
        shapes = {
            "acc_m_s2": (np.shape(self.acc_m_s2), (n, 3)),
            "gyro_rad_s": (np.shape(self.gyro_rad_s), (n, 3)),
            "odo_m": (np.shape(self.odo_m), (n, 2)),
            "force_n": (np.shape(self.force_n), (n, 2)),
            "brake": (np.shape(self.brake), (n,)),
        }
        for name, (got, want) in shapes.items():
            if got != want:
                raise ProtocolError(f"{name} has shape {got}, expected {want}")

    @property
    def n_samples(self) -> int:
        """Number of samples in the frame."""
        return len(self.brake)

    @property
    def duration_s(self) -> float:
        """Time covered by the frame: ``n_samples / rate_hz`` seconds."""
        return self.n_samples / self.rate_hz


def _number(value: float) -> int | float:
    # 50.0 Hz goes on the wire as 50: shorter, and what a person writing JSON by hand would send.
    return int(value) if float(value).is_integer() else float(value)


def _samples(values: npt.ArrayLike, decimals: int) -> list[float]:
    # Adding 0.0 turns the -0.0 that rounding produces for tiny negatives into 0.0, so the same
    # reading always encodes to the same bytes.
    rounded = np.round(np.asarray(values, dtype=np.float64), decimals) + 0.0
    return [float(x) for x in rounded]


def _frame_to_wire(frame: WalkerFrame) -> dict[str, Any]:
    acc, gyro = frame.acc_m_s2, frame.gyro_rad_s
    odo, force = frame.odo_m, frame.force_n
    d = _DECIMALS
    return {
        "t0": format_timestamp(frame.t0),
        "rate_hz": _number(frame.rate_hz),
        "acc_x": _samples(acc[:, 0], d["acc"]),
        "acc_y": _samples(acc[:, 1], d["acc"]),
        "acc_z": _samples(acc[:, 2], d["acc"]),
        "gyro_x": _samples(gyro[:, 0], d["gyro"]),
        "gyro_y": _samples(gyro[:, 1], d["gyro"]),
        "gyro_z": _samples(gyro[:, 2], d["gyro"]),
        "odo_l": _samples(odo[:, 0], d["odo"]),
        "odo_r": _samples(odo[:, 1], d["odo"]),
        "force_l": _samples(force[:, 0], d["force"]),
        "force_r": _samples(force[:, 1], d["force"]),
        "brake": [1 if b else 0 for b in np.asarray(frame.brake).tolist()],
    }


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


def walker_telemetry(
    device_id: str, boot: int, seq: int, sent_at: datetime, frames: Sequence[WalkerFrame]
) -> Message:
    """A ``walker.telemetry`` message holding ``frames`` (oldest first).

    Parameters
    ----------
    device_id, boot, seq, sent_at
        The common header; ``sent_at`` is the device clock when the message is built.
    frames
        1..60 frames. Samples are rounded to a fixed number of decimals per quantity.

    Raises
    ------
    ProtocolError
        If there are no frames or more than 60.
    """
    if not 1 <= len(frames) <= _MAX_FRAMES:
        raise ProtocolError(f"a message holds 1..{_MAX_FRAMES} frames, not {len(frames)}")
    msg = _header("walker.telemetry", device_id, boot, seq, sent_at)
    msg["frames"] = [_frame_to_wire(f) for f in frames]
    return msg


# ----------------------------------------------------------------------------- robot events


def _robot_event(
    event: str, device_id: str, boot: int, seq: int, sent_at: datetime, at: datetime
) -> Message:
    msg = _header("robot.event", device_id, boot, seq, sent_at)
    msg["at"] = format_timestamp(at)
    msg["event"] = event
    return msg


def robot_session_start(
    device_id: str,
    boot: int,
    seq: int,
    sent_at: datetime,
    *,
    at: datetime,
    session_id: str,
    program: str,
    mode: Literal["group", "individual"],
    participants: Sequence[str],
) -> Message:
    """A ``robot.event`` of kind ``session_start``; ``participants`` are badge pseudonyms."""
    msg = _robot_event("session_start", device_id, boot, seq, sent_at, at)
    msg.update(session_id=session_id, program=program, mode=mode, participants=list(participants))
    return msg


def robot_session_end(
    device_id: str,
    boot: int,
    seq: int,
    sent_at: datetime,
    *,
    at: datetime,
    session_id: str,
    ended_reason: Literal["completed", "aborted"],
) -> Message:
    """A ``robot.event`` of kind ``session_end``."""
    msg = _robot_event("session_end", device_id, boot, seq, sent_at, at)
    msg.update(session_id=session_id, ended_reason=ended_reason)
    return msg


def robot_exercise(
    device_id: str,
    boot: int,
    seq: int,
    sent_at: datetime,
    *,
    at: datetime,
    session_id: str,
    participant: str,
    exercise: Literal[
        "sit_to_stand", "arm_raise", "marching", "leg_extension", "balance", "walking"
    ],
    started_at: datetime,
    ended_at: datetime,
    rep_times: Sequence[datetime],
) -> Message:
    """A ``robot.event`` of kind ``exercise``: one participant, one exercise, its repetitions."""
    msg = _robot_event("exercise", device_id, boot, seq, sent_at, at)
    msg.update(
        session_id=session_id,
        participant=participant,
        exercise=exercise,
        started_at=format_timestamp(started_at),
        ended_at=format_timestamp(ended_at),
        rep_times=[format_timestamp(t) for t in rep_times],
    )
    return msg


def robot_sit_to_stand_test(
    device_id: str,
    boot: int,
    seq: int,
    sent_at: datetime,
    *,
    at: datetime,
    session_id: str,
    participant: str,
    started_at: datetime,
    rep_times: Sequence[datetime],
    total_s: float,
) -> Message:
    """A ``robot.event`` of kind ``sit_to_stand_test`` (five repetitions, timed).

    Raises
    ------
    ProtocolError
        If ``rep_times`` does not hold exactly five timestamps.
    """
    if len(rep_times) != 5:
        raise ProtocolError(f"a sit-to-stand test has 5 repetitions, not {len(rep_times)}")
    msg = _robot_event("sit_to_stand_test", device_id, boot, seq, sent_at, at)
    msg.update(
        session_id=session_id,
        participant=participant,
        started_at=format_timestamp(started_at),
        rep_times=[format_timestamp(t) for t in rep_times],
        total_s=round(float(total_s), 3),
    )
    return msg


# ----------------------------------------------------------------------------- status


def device_status(
    device_id: str,
    boot: int,
    seq: int,
    sent_at: datetime,
    *,
    at: datetime,
    state: Literal["online", "offline", "sleeping"],
    battery_pct: float,
    charging: bool,
    firmware: str,
    rssi_dbm: float,
    buffered_n: int,
    clock_offset_ms: float,
    config_id: int,
) -> Message:
    """A full ``status`` message (publish it retained).

    ``config_id`` is the configuration the device runs (0 for factory defaults); reporting it
    is how the device acknowledges a config downlink.
    """
    msg = _header("status", device_id, boot, seq, sent_at)
    msg.update(
        at=format_timestamp(at),
        state=state,
        battery_pct=round(float(battery_pct), 1),
        charging=bool(charging),
        firmware=firmware,
        rssi_dbm=_number(round(float(rssi_dbm), 1)),
        buffered_n=int(buffered_n),
        clock_offset_ms=round(float(clock_offset_ms), 1),
        config_id=int(config_id),
    )
    return msg


def offline_will(device_id: str, boot: int, *, connected_at: datetime) -> Message:
    """The last-will status to register at connect: state ``offline``, ``seq`` 0.

    It carries the connect time as ``at`` and no ``sent_at``: the broker publishes it later, at
    a moment the device cannot know.
    """
    if not DEVICE_ID_PATTERN.match(device_id):
        raise ProtocolError(f"invalid device id {device_id!r}")
    return {
        "v": PROTOCOL_VERSION,
        "type": "status",
        "device_id": device_id,
        "boot": boot,
        "seq": 0,
        "at": format_timestamp(connected_at),
        "state": "offline",
    }


# ----------------------------------------------------------------------------- config


@dataclass(frozen=True)
class DeviceConfig:
    """What the config downlink sets. ``config_id`` 0 means factory defaults.

    Attributes
    ----------
    config_id : int
        Id of the configuration; the device reports it in ``status.config_id``.
    rate_hz : float
        Sampling rate, 1..200 Hz.
    frame_s : float
        Frame length, 0.2..10 s.
    upload_interval_s : float
        How often telemetry is sent while connected, 1..300 s.
    """

    config_id: int
    rate_hz: float
    frame_s: float
    upload_interval_s: float

    def __post_init__(self) -> None:
        if self.config_id < 0:
            raise ProtocolError(f"config_id {self.config_id} < 0")
        for name, value, low, high in (
            ("rate_hz", self.rate_hz, 1, 200),
            ("frame_s", self.frame_s, 0.2, 10),
            ("upload_interval_s", self.upload_interval_s, 1, 300),
        ):
            if not (math.isfinite(value) and low <= value <= high):
                raise ProtocolError(f"{name} {value} outside {low}..{high}")

    @property
    def samples_per_frame(self) -> int:
        """Samples in one frame, ``rate_hz * frame_s`` rounded to a whole number (at least 1)."""
        return max(1, round(self.rate_hz * self.frame_s))

    @property
    def frames_per_upload(self) -> int:
        """Frames in one upload interval, at least 1 and at most 60."""
        return min(_MAX_FRAMES, max(1, round(self.upload_interval_s / self.frame_s)))


#: Factory defaults: 50 Hz, 1 s frames, an upload every 5 s.
DEFAULT_CONFIG: Final = DeviceConfig(config_id=0, rate_hz=50, frame_s=1.0, upload_interval_s=5)


def config_message(device_id: str, config: DeviceConfig, *, issued_at: datetime) -> Message:
    """The backend's ``config`` downlink for ``device_id`` (publish it retained).

    Raises
    ------
    ProtocolError
        If ``config.config_id`` is 0 (reserved for factory defaults) or the id is invalid.
    """
    if not DEVICE_ID_PATTERN.match(device_id):
        raise ProtocolError(f"invalid device id {device_id!r}")
    if config.config_id < 1:
        raise ProtocolError("a config downlink needs config_id >= 1")
    return {
        "v": PROTOCOL_VERSION,
        "type": "config",
        "device_id": device_id,
        "config_id": config.config_id,
        "rate_hz": _number(config.rate_hz),
        "frame_s": _number(config.frame_s),
        "upload_interval_s": _number(config.upload_interval_s),
        "issued_at": format_timestamp(issued_at),
    }


def parse_config(msg: Mapping[str, Any], *, device_id: str) -> DeviceConfig:
    """Read a decoded ``config`` downlink as a device does.

    Unknown fields are ignored, as the protocol asks of devices, so the backend can add
    optional settings within version 1.

    Raises
    ------
    ProtocolError
        If the message is not a version-1 config for ``device_id`` or a value is missing or out
        of range; the device then keeps running its current configuration.
    """
    if msg.get("v") != PROTOCOL_VERSION or msg.get("type") != "config":
        raise ProtocolError("not a version 1 config message")
    if msg.get("device_id") != device_id:
        raise ProtocolError(f"config is for {msg.get('device_id')!r}, not {device_id!r}")
    try:
        config_id = msg["config_id"]
        values = [msg[k] for k in ("rate_hz", "frame_s", "upload_interval_s")]
    except KeyError as exc:
        raise ProtocolError(f"config lacks {exc.args[0]!r}") from exc
    # bool is an int in Python but not a number on the wire.
    if not isinstance(config_id, int) or isinstance(config_id, bool) or config_id < 1:
        raise ProtocolError(f"bad config_id {config_id!r}")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        raise ProtocolError("rate_hz, frame_s and upload_interval_s must be numbers")
    rate_hz, frame_s, upload_interval_s = (float(v) for v in values)
    return DeviceConfig(config_id, rate_hz, frame_s, upload_interval_s)


# ----------------------------------------------------------------------------- encoding


def encode(msg: Mapping[str, Any], encoding: Encoding = "json") -> bytes:
    """Encode a message as compact UTF-8 JSON or as CBOR.

    The output is deterministic (JSON keeps the dict's order, CBOR uses canonical form), so a
    message kept in the offline buffer as a dict re-encodes to the same bytes. The size limit is
    not checked here: compare ``len(payload)`` with :data:`MAX_PAYLOAD_BYTES` before sending,
    and split an upload into several messages if it does not fit.

    Raises
    ------
    ValueError
        If the message holds NaN or infinity, which JSON cannot carry and the protocol forbids.
    """
    if encoding == "json":
        text = json.dumps(msg, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        return text.encode("utf-8")
    if encoding == "cbor":
        _reject_non_finite(msg)
        # canonical=True: shortest float that keeps the value exactly (0.0 takes 3 bytes, not 9)
        # and a fixed key order.
        return bytes(cbor2.dumps(msg, canonical=True))
    raise ValueError(f"unknown encoding {encoding!r}")


def _reject_non_finite(value: Any) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"non-finite number {value!r} cannot be sent")
    if isinstance(value, Mapping):
        for item in value.values():
            _reject_non_finite(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _reject_non_finite(item)


def detect_encoding(payload: bytes, content_type: str | None = None) -> Encoding:
    """Tell JSON from CBOR as the protocol prescribes.

    1. An MQTT 5 content type, when present, decides (``application/json`` or
       ``application/cbor``; parameters such as ``; charset=utf-8`` are ignored).
    2. Otherwise the first byte: ``{`` after optional JSON whitespace is JSON; a CBOR map head
       (0xA0..0xBF) is CBOR.

    Raises
    ------
    ProtocolError
        For any other content type or first byte (reject reason ``undecodable``).
    """
    if content_type is not None:
        media_type = content_type.split(";", 1)[0].strip().lower()
        for encoding, known in CONTENT_TYPES.items():
            if media_type == known:
                return encoding
        raise ProtocolError(f"unsupported content type {content_type!r}")
    if payload.lstrip(_JSON_WHITESPACE)[:1] == b"{":
        return "json"
    if payload and 0xA0 <= payload[0] <= 0xBF:
        return "cbor"
    raise ProtocolError("payload is neither a JSON object nor a CBOR map")


def decode(payload: bytes, content_type: str | None = None) -> Message:
    """Decode a payload into a message dict, strictly.

    Besides syntax errors, these are undecodable: invalid UTF-8, a top level that is not an
    object, repeated keys in JSON, ``NaN``/``Infinity`` literals in JSON, a JSON string escape of
    an unpaired surrogate (``"\\ud800"``: no UTF-8 text), bytes after the CBOR
    item, and CBOR items with no JSON equivalent (byte strings, tags, undefined, non-text keys).
    CBOR NaN or infinite floats decode; the backend rejects them as ``value_out_of_range``.

    Raises
    ------
    ProtocolError
        If the payload cannot be decoded (reject reason ``undecodable``).
    """
    encoding = detect_encoding(payload, content_type)
    value: Any
    if encoding == "json":
        try:
            value = json.loads(
                payload.decode("utf-8"),
                object_pairs_hook=_object_without_repeats,
                parse_constant=_no_constant,
            )
        except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError too
            raise ProtocolError(f"invalid JSON: {exc}") from exc
    else:
        stream = io.BytesIO(payload)
        try:
            value = cbor2.CBORDecoder(stream).decode()
        except (cbor2.CBORError, ValueError, TypeError, OverflowError, RecursionError) as exc:
            raise ProtocolError(f"invalid CBOR: {exc}") from exc
        if stream.tell() != len(payload):
            raise ProtocolError("bytes after the CBOR item")
        _require_json_model(value)
    if not isinstance(value, dict):
        raise ProtocolError("the top level is not an object")
    if encoding == "json":
        _require_utf8(value)
    return value


def _require_utf8(value: Any) -> None:
    # JSON may escape an unpaired surrogate; such a string is no Unicode text and cannot be sent
    # on or stored, so the message is undecodable.
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and not item.isascii():
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ProtocolError(f"unpaired surrogate in {item[:40]!r}") from exc


def _object_without_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # A repeated key would make two decoders disagree on the message; refuse it outright.
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise ProtocolError(f"repeated key {key!r}")
        obj[key] = value
    return obj


def _no_constant(name: str) -> Any:
    raise ProtocolError(f"{name} is not valid JSON")


def _require_json_model(value: Any) -> None:
    # "The same object in CBOR": only what JSON could have said, so both encodings validate
    # against one schema and store identically.
    if value is None or isinstance(value, bool | int | float | str):
        return
    if isinstance(value, list):
        for item in value:
            _require_json_model(item)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ProtocolError(f"CBOR map key {key!r} is not a text string")
            _require_json_model(item)
        return
    raise ProtocolError(f"CBOR item of type {type(value).__name__} has no JSON equivalent")
