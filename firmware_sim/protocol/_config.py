"""Device configuration sent by the backend, and its parsing on the device."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from firmware_sim.protocol._common import (
    _MAX_FRAMES,
    DEVICE_ID_PATTERN,
    PROTOCOL_VERSION,
    Message,
    ProtocolError,
    _number,
    format_timestamp,
)


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
