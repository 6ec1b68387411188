"""What validation makes of a received MQTT message: an accepted message or a reject."""

from __future__ import annotations

import hashlib
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
    """A message as received; ``token`` is what its transport needs to acknowledge it.

    An oversized payload may be kept only as its first bytes (``payload``) with the size and
    SHA-256 of the whole (``size``, ``sha256``): it is rejected on its size alone, so holding a
    megabyte in memory for it would only help an attacker.
    """

    topic: str
    payload: bytes
    received_at: datetime
    content_type: str | None = None
    token: Any = None
    size: int | None = None
    sha256: bytes | None = None

    @property
    def payload_size(self) -> int:
        """Size of the payload as received, in bytes."""
        return len(self.payload) if self.size is None else self.size

    def payload_sha256(self) -> bytes:
        """SHA-256 of the payload as received."""
        return hashlib.sha256(self.payload).digest() if self.sha256 is None else self.sha256

    @classmethod
    def compact(
        cls,
        topic: str,
        payload: bytes,
        received_at: datetime,
        *,
        keep_bytes: int,
        content_type: str | None = None,
        token: Any = None,
    ) -> Received:
        """A received message that keeps only the first ``keep_bytes`` of its payload."""
        return cls(
            topic, payload[:keep_bytes], received_at, content_type, token,
            size=len(payload), sha256=hashlib.sha256(payload).digest(),
        )  # fmt: skip


@dataclass(frozen=True)
class Envelope:
    """Fields every device message carries, plus the tenant resolved from the registry."""

    device_id: str
    tenant_id: str
    boot: int
    seq: int
    sent_at: datetime | None
    received_at: datetime
    payload_sha256: bytes = b""  # of the payload as received: tells a replay from a conflict


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
    """A message that failed validation, kept with a reason code.

    ``payload`` is the payload as received (or its first bytes, see :class:`Received`); the
    store keeps a bounded prefix of it with ``payload_size`` and ``payload_sha256``. ``boot``
    and ``seq`` are the message's own when it got far enough to tell them, so that the same
    reject redelivered is stored once. ``stored_sha256`` is set for ``key_conflict``: the hash
    of the payload already stored under the same key.
    """

    topic: str
    device_id: str | None
    reason: str
    detail: str
    payload: bytes
    received_at: datetime
    payload_size: int = -1  # -1: len(payload)
    payload_sha256: bytes = b""  # b"": the hash of payload
    boot: int | None = None
    seq: int | None = None
    stored_sha256: bytes | None = None

    @property
    def size(self) -> int:
        """Size of the rejected payload as received, in bytes."""
        return len(self.payload) if self.payload_size < 0 else self.payload_size

    @property
    def sha256(self) -> bytes:
        """SHA-256 of the rejected payload as received."""
        return self.payload_sha256 or hashlib.sha256(self.payload).digest()
