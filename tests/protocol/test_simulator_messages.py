"""Every message the simulator builds validates, in JSON and in CBOR, and is accepted."""

from __future__ import annotations

import copy
import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import cbor2
import numpy as np
import pytest

from firmware_sim import protocol as p
from ingest import reasons as ingest_reasons
from tests.protocol.protocol_helpers import (
    BUILT,
    DEVICE_MESSAGES,
    DOCS,
    FRAME_ARRAYS,
    RECEIVED,
    T0,
    reject_reason,
    schema_errors,
    walker_frame,
)


@pytest.mark.parametrize("name", list(BUILT))
@pytest.mark.parametrize("encoding", ["json", "cbor"])
def test_built_message_round_trips_and_validates(name: str, encoding: p.Encoding) -> None:
    msg = BUILT[name]
    payload = p.encode(msg, encoding)
    if encoding == "cbor":
        decoded = cbor2.loads(payload)  # an independent decoder, not only our own
        assert decoded == p.decode(payload)
    else:
        decoded = p.decode(payload)
    assert decoded == msg
    assert schema_errors(decoded) == []
    assert p.detect_encoding(payload) == encoding
    assert p.decode(payload, p.CONTENT_TYPES[encoding]) == msg


@pytest.mark.parametrize("name", DEVICE_MESSAGES)
def test_built_message_passes_every_backend_check(name: str) -> None:
    msg = BUILT[name]
    assert reject_reason(p.topic_of(msg), p.encode(msg), received_at=RECEIVED) is None


def test_default_telemetry_upload_is_small_and_compact() -> None:
    msg = BUILT["walker_telemetry"]
    assert len(msg["frames"]) == 5
    assert {len(f[k]) for f in msg["frames"] for k in FRAME_ARRAYS} == {50}
    payload = p.encode(msg, "json")
    assert b" " not in payload  # compact separators
    assert len(payload) < 32 * 1024
    # CBOR keeps the rounded decimals as exact doubles (9 bytes each), so it is not smaller than
    # JSON for telemetry; it only has to fit as easily.
    assert len(p.encode(msg, "cbor")) < 32 * 1024


def test_samples_are_rounded_without_negative_zero() -> None:
    n = 3
    frame = p.WalkerFrame(
        T0, 50.0,
        np.array([[1.234567, -0.00001, 9.81]] * n), np.full((n, 3), 0.123456789),
        np.full((n, 2), 0.0123456789), np.full((n, 2), 70.06), np.array([True, False, True]),
    )  # fmt: skip
    wire = p.walker_telemetry("W-0001", 0, 1, T0, [frame])["frames"][0]
    assert wire["acc_x"] == [1.2346] * n
    assert wire["acc_y"] == [0.0] * n
    assert b"-0.0" not in p.encode(wire)
    assert wire["gyro_z"] == [0.1235] * n
    assert wire["odo_l"] == [0.01235] * n
    assert wire["force_r"] == [70.1] * n
    assert wire["brake"] == [1, 0, 1]
    assert wire["rate_hz"] == 50 and isinstance(wire["rate_hz"], int)


def test_frame_rejects_inconsistent_shapes() -> None:
    ok = walker_frame(T0, 5, 50.0, np.random.default_rng(1))
    with pytest.raises(p.ProtocolError, match="gyro_rad_s"):
        p.WalkerFrame(ok.t0, 50.0, ok.acc_m_s2, ok.gyro_rad_s[:4], ok.odo_m, ok.force_n,
                      ok.brake)  # fmt: skip
    with pytest.raises(p.ProtocolError, match="timezone"):
        p.WalkerFrame(T0.replace(tzinfo=None), 50.0, ok.acc_m_s2, ok.gyro_rad_s, ok.odo_m,
                      ok.force_n, ok.brake)  # fmt: skip
    with pytest.raises(p.ProtocolError, match="frames"):
        p.walker_telemetry("W-0001", 0, 1, T0, [ok] * 61)


def test_timestamps_are_utc_milliseconds_truncated() -> None:
    oslo_winter = timezone(timedelta(hours=1))
    at = datetime(2026, 11, 26, 10, 59, 59, 999_999, tzinfo=oslo_winter)
    assert p.format_timestamp(at) == "2026-11-26T09:59:59.999Z"
    assert p.parse_timestamp("2026-11-26T09:59:59.999Z") == at.replace(microsecond=999_000)
    with pytest.raises(p.ProtocolError):
        p.format_timestamp(datetime(2026, 11, 26))
    for bad in ("2026-02-30T00:00:00.000Z", "2026-11-26T09:59:59Z"):
        with pytest.raises(p.ProtocolError):
            p.parse_timestamp(bad)


def test_topics() -> None:
    assert p.topic("W-0001", "telemetry") == "stayactive/v1/W-0001/telemetry"
    assert p.parse_topic("stayactive/v1/R_7/events") == ("R_7", "events")
    for bad in ("stayactive/v1/W-0001/logs", "stayactive/v2/W-0001/status", "stayactive/v1/-x/s"):
        with pytest.raises(p.ProtocolError):
            p.parse_topic(bad)
    with pytest.raises(p.ProtocolError):
        p.topic("W/0001", "status")


@pytest.mark.parametrize(
    ("payload", "content_type", "expected"),
    [
        (b' \r\n\t{"a":1}', None, {"a": 1}),
        (b'{"a":1}', "application/json; charset=utf-8", {"a": 1}),
        (bytes([0xBF, 0x61, 0x61, 0x01, 0xFF]), None, {"a": 1}),  # indefinite-length map
        (bytes([0xA1, 0x61, 0x61, 0x01]), "application/cbor", {"a": 1}),
    ],
)
def test_decode_accepts(payload: bytes, content_type: str | None, expected: Any) -> None:
    assert p.decode(payload, content_type) == expected


@pytest.mark.parametrize(
    ("payload", "content_type"),
    [
        (b"", None),
        (b'["a"]', None),  # not an object
        (b"\xef\xbb\xbf{}", None),  # byte-order mark
        (b'{"a":1,"a":2}', None),  # repeated key
        (b'{"a":NaN}', None),
        (b'{"a":"\xff"}', None),  # invalid UTF-8
        (b'{"a":1} x', None),
        (b'{"a":1}', "text/plain"),
        (b'{"a":1}', "application/cbor"),  # the content type decides, no second guess
        (bytes([0x81, 0x01]), None),  # CBOR array
        (bytes([0xA1, 0x61, 0x61, 0x01, 0x00]), None),  # bytes after the map
        (bytes([0xA1, 0x61, 0x61, 0x41, 0x00]), None),  # byte string value
        (bytes([0xA1, 0x01, 0x01]), None),  # integer key
        (bytes([0xA1, 0x61, 0x61, 0xC1, 0x01]), None),  # tag 1 (epoch time)
        (bytes([0xA1, 0x61, 0x61, 0xF7]), None),  # undefined
        (bytes([0xA2, 0x61, 0x61]), None),  # truncated
    ],
)
def test_decode_rejects(payload: bytes, content_type: str | None) -> None:
    with pytest.raises(p.ProtocolError):
        p.decode(payload, content_type)


def test_encode_refuses_non_finite_numbers() -> None:
    for encoding in ("json", "cbor"):
        with pytest.raises(ValueError):
            p.encode({"a": [1.0, math.inf]}, encoding)


def test_cbor_nan_decodes_and_is_rejected_as_out_of_range() -> None:
    msg = copy.deepcopy(BUILT["status"])
    msg["clock_offset_ms"] = math.nan
    payload = cbor2.dumps(msg)
    assert reject_reason(p.topic_of(msg), payload, received_at=RECEIVED) == "value_out_of_range"


def test_reject_reasons_are_documented_in_check_order() -> None:
    text = (DOCS / "protocol.md").read_text("utf-8")
    section = text[text.index("## Rejects") :]
    documented = re.findall(r"^\| \d+ \| `([a-z_]+)` \|", section, flags=re.MULTILINE)
    assert tuple(documented) == p.REJECT_REASONS
    assert tuple(documented) == ingest_reasons.CHECKED  # the simulator and ingest agree
    for code in ingest_reasons.BACKEND:
        assert f"`{code}`" in section


def test_config_downlink_needs_an_id() -> None:
    with pytest.raises(p.ProtocolError):
        p.config_message("W-0001", p.DEFAULT_CONFIG, issued_at=T0)
    with pytest.raises(p.ProtocolError):
        p.DeviceConfig(1, rate_hz=500, frame_s=1, upload_interval_s=5)
