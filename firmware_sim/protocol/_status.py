"""Device status, and the last will that says a device went offline."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from firmware_sim.protocol._common import (
    DEVICE_ID_PATTERN,
    PROTOCOL_VERSION,
    Message,
    ProtocolError,
    _header,
    _number,
    format_timestamp,
)


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
