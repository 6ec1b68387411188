"""What validation makes of a received MQTT message: an accepted message or a reject."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from stayactive.db.walker_samples import CHANNELS

FLOAT_CHANNELS = CHANNELS
"""The walker's sample arrays, in the wire's order (also the order they are stored in)."""


@dataclass(frozen=True)
class Received:
    """A message as received; ``token`` is what its transport needs to acknowledge it."""

    topic: str
    payload: bytes
    received_at: datetime
    content_type: str | None = None
    token: Any = None


@dataclass(frozen=True)
class Envelope:
    """Fields every device message carries, plus the tenant resolved from the registry."""

    device_id: str
    tenant_id: str
    boot: int
    seq: int
    sent_at: datetime | None
    received_at: datetime


@dataclass(frozen=True, eq=False)
class Frame:
    """One frame of walker samples: ``samples`` has one row per FLOAT_CHANNELS entry."""

    t0: datetime
    rate_hz: float
    samples: npt.NDArray[np.float64]  # shape (len(FLOAT_CHANNELS), n)
    brake: npt.NDArray[np.bool_]  # shape (n,)


@dataclass(frozen=True)
class WalkerTelemetry:
    envelope: Envelope
    frames: list[Frame]


@dataclass(frozen=True)
class RobotEvent:
    envelope: Envelope
    at: datetime
    event: str
    session_id: str
    body: dict[str, Any]


@dataclass(frozen=True)
class Status:
    envelope: Envelope
    at: datetime
    state: str
    battery_pct: float | None = None
    charging: bool | None = None
    firmware: str | None = None
    rssi_dbm: float | None = None
    buffered_n: int | None = None
    clock_offset_ms: float | None = None
    config_id: int | None = None


Accepted = WalkerTelemetry | RobotEvent | Status


@dataclass(frozen=True)
class Reject:
    """A message that failed validation, kept as received with a reason code."""

    topic: str
    device_id: str | None
    reason: str
    detail: str
    payload: bytes
    received_at: datetime
