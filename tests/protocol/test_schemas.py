"""The device protocol's published artefacts agree with each other and with the simulator.

docs/protocol.md, ingest/schemas/*.schema.json, docs/examples/*.json and firmware_sim.protocol /
firmware_sim.faults describe one contract. These tests hold them together:

1. the schemas are valid draft 2020-12 and share identical common definitions;
2. every example validates against its schema and passes every backend check;
3. every message the simulator builds validates, in JSON and in CBOR;
4. every fault is rejected with the reason code it claims, by the checks protocol.md documents
   (a small reference implementation of them lives below, ``reject_reason``);
5. every mosquitto_pub command in protocol.md points at an existing example on the right topic.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import re
import shlex
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import cbor2
import numpy as np
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from firmware_sim import faults
from firmware_sim import protocol as p
from ingest import reasons as ingest_reasons

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SCHEMAS = ROOT / "ingest" / "schemas"
EXAMPLES = DOCS / "examples"

SCHEMA_OF_TYPE = {
    "walker.telemetry": "walker-telemetry",
    "robot.event": "robot-event",
    "status": "status",
    "config": "config",
}
EXAMPLE_FILES = [
    "walker-telemetry.json",
    "robot-session-start.json",
    "robot-exercise.json",
    "robot-sit-to-stand-test.json",
    "robot-session-end.json",
    "status.json",
    "status-offline-will.json",
    "config.json",
]
RANGE_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
TIMESTAMP_FIELDS = {"sent_at", "at", "t0", "started_at", "ended_at", "issued_at", "rep_times"}
FRAME_ARRAYS = (
    "acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z",
    "odo_l", "odo_r", "force_l", "force_r", "brake",
)  # fmt: skip
FUTURE_TOLERANCE = timedelta(minutes=5)
RETENTION = timedelta(days=400)
# Messages built in these tests are stamped at T0 and "received" one second later.
T0 = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
RECEIVED = T0 + timedelta(seconds=1)


# ----------------------------------------------------------------------------- schema helpers


def _format_checker() -> FormatChecker:
    checker = FormatChecker()
    if "date-time" not in checker.checkers:
        # jsonschema checks date-time only when the optional rfc3339-validator is installed;
        # without it the format would pass silently. Python's parser accepts every wire
        # timestamp (the schema's pattern already pins the shape) and refuses impossible dates.
        def _date_time(value: object) -> bool:
            return not isinstance(value, str) or bool(datetime.fromisoformat(value))

        checker.checks("date-time", raises=ValueError)(_date_time)
    return checker


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMAS / f"{name}.schema.json").read_text("utf-8"))
    return schema


def _without_ranges(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_ranges(v) for k, v in node.items() if k not in RANGE_KEYWORDS}
    if isinstance(node, list):
        return [_without_ranges(v) for v in node]
    return node


@functools.cache
def validator(name: str, *, ranges: bool = True) -> Draft202012Validator:
    schema = load_schema(name) if ranges else _without_ranges(load_schema(name))
    return Draft202012Validator(schema, format_checker=_format_checker())


def schema_errors(msg: dict[str, Any]) -> list[str]:
    v = validator(SCHEMA_OF_TYPE[msg["type"]])
    return [f"{list(e.absolute_path)}: {e.message}" for e in v.iter_errors(msg)]


# ----------------------------------------------------------------------------- reference checks


def _timestamps(value: Any, key: str | None = None) -> Iterator[str]:
    if isinstance(value, dict):
        for k, item in value.items():
            yield from _timestamps(item, k)
    elif isinstance(value, list):
        for item in value:
            yield from _timestamps(item, key)
    elif isinstance(value, str) and key in TIMESTAMP_FIELDS:
        yield value


def _non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_non_finite(v) for v in value.values())
    if isinstance(value, list):
        return any(_non_finite(v) for v in value)
    return False


FLOAT4_MAX = 3.4028234663852886e38  # largest finite single-precision float
REAL_STATUS_FIELDS = ("battery_pct", "rssi_dbm", "clock_offset_ms")


def _not_storable(msg: dict[str, Any]) -> bool:
    """protocol.md step 11: a NUL character in any text, a status number beyond a float4."""

    def has_nul(value: Any) -> bool:
        if isinstance(value, str):
            return "\x00" in value
        if isinstance(value, dict):
            return any(has_nul(k) or has_nul(v) for k, v in value.items())
        if isinstance(value, list):
            return any(has_nul(v) for v in value)
        return False

    if msg.get("type") == "status":
        for name in REAL_STATUS_FIELDS:
            value = msg.get(name)
            if value is not None and (
                (isinstance(value, int) and abs(value) > FLOAT4_MAX)
                or abs(float(value)) > FLOAT4_MAX
            ):
                return True
    return has_nul(msg)


def reject_reason(
    topic: str, payload: bytes, *, received_at: datetime, content_type: str | None = None
) -> str | None:
    """The reject reason protocol.md prescribes, checking in its documented order; None = ok.

    The registry checks (unknown_device, inactive_device) need a database and are left out.
    """
    if len(payload) > p.MAX_PAYLOAD_BYTES:
        return "payload_too_large"
    try:
        msg = p.decode(payload, content_type)
    except p.ProtocolError:
        return "undecodable"
    version = msg.get("v")
    if version != 1 or isinstance(version, bool):
        return "unsupported_version"
    device_id, channel = p.parse_topic(topic)
    if msg.get("device_id") != device_id:
        return "topic_mismatch"
    type_name = str(msg.get("type"))
    if type_name not in p.CHANNEL_OF_TYPE:
        return "schema_invalid"  # no schema to check against
    if type_name == "config" or p.CHANNEL_OF_TYPE[type_name] != channel:
        return "wrong_channel"
    # (unknown_device and inactive_device would be checked here.)
    name = SCHEMA_OF_TYPE[type_name]
    if not validator(name, ranges=False).is_valid(msg):
        return "schema_invalid"
    for frame in msg.get("frames", []):
        if len({len(frame[key]) for key in FRAME_ARRAYS}) != 1:
            return "array_length_mismatch"
    if not validator(name).is_valid(msg) or _non_finite(msg):
        return "value_out_of_range"
    if _not_storable(msg):
        return "value_not_storable"
    try:
        times = [p.parse_timestamp(t) for t in _timestamps(msg)]
    except p.ProtocolError:
        # Python's `re.search` lets the schema's "...Z$" match before a trailing newline;
        # JSON Schema's ECMA-262 "$" does not, so such a timestamp is schema_invalid.
        return "schema_invalid"
    if any(t > received_at + FUTURE_TOLERANCE for t in times):
        return "timestamp_in_future"
    if any(t < received_at - RETENTION for t in times):
        return "timestamp_too_old"
    return None


# ----------------------------------------------------------------------------- sample messages


def _frame(t0: datetime, n: int, rate_hz: float, rng: np.random.Generator) -> p.WalkerFrame:
    t = np.arange(n) / rate_hz
    step = np.sin(2 * np.pi * 1.8 * t)  # about 1.8 steps per second, slow walking
    acc = np.column_stack([0.3 * step, 0.05 * rng.standard_normal(n), 9.81 + 0.4 * step])
    gyro = 0.03 * rng.standard_normal((n, 3))
    odo = np.full((n, 2), 0.6 / rate_hz) + 1e-4 * rng.standard_normal((n, 2))
    force = np.column_stack([75 + 8 * step, 72 - 8 * step])
    return p.WalkerFrame(t0, rate_hz, acc, gyro, odo, force, np.zeros(n, dtype=np.bool_))


def built_messages() -> dict[str, p.Message]:
    """One message of every kind, built with firmware_sim.protocol as the simulator does."""
    rng = np.random.default_rng(7)
    cfg = p.DEFAULT_CONFIG
    frames = [
        _frame(T0 - timedelta(seconds=5 - i), cfg.samples_per_frame, cfg.rate_hz, rng)
        for i in range(cfg.frames_per_upload)
    ]
    reps = [T0 + timedelta(seconds=2.5 * (i + 1)) for i in range(5)]
    return {
        "walker_telemetry": p.walker_telemetry("W-0001", 17, 4821, T0, frames),
        "session_start": p.robot_session_start(
            "R-0001", 3, 1, T0, at=T0, session_id="s-1", program="morning", mode="group",
            participants=["rb7Kq2xW", "rb3Lm9pZ"],
        ),
        "exercise": p.robot_exercise(
            "R-0001", 3, 2, T0, at=T0, session_id="s-1", participant="rb7Kq2xW",
            exercise="marching", started_at=T0 - timedelta(minutes=2), ended_at=T0,
            rep_times=reps,
        ),
        "exercise_no_reps": p.robot_exercise(
            "R-0001", 3, 3, T0, at=T0, session_id="s-1", participant="rb3Lm9pZ",
            exercise="balance", started_at=T0 - timedelta(minutes=1), ended_at=T0, rep_times=[],
        ),
        "sit_to_stand_test": p.robot_sit_to_stand_test(
            "R-0001", 3, 4, T0, at=T0, session_id="s-1", participant="rb3Lm9pZ", started_at=T0,
            rep_times=reps, total_s=12.5,
        ),
        "session_end": p.robot_session_end(
            "R-0001", 3, 5, T0, at=T0, session_id="s-1", ended_reason="aborted"
        ),
        "status": p.device_status(
            "W-0001", 17, 4822, T0, at=T0, state="online", battery_pct=81.46, charging=False,
            firmware="walker-fw 2.4.1", rssi_dbm=-67, buffered_n=0, clock_offset_ms=-3.25,
            config_id=0,
        ),
        "offline_will": p.offline_will("W-0001", 17, connected_at=T0 - timedelta(hours=2)),
        "config": p.config_message(
            "W-0001", p.DeviceConfig(3, rate_hz=100, frame_s=0.5, upload_interval_s=10),
            issued_at=T0,
        ),
    }  # fmt: skip


BUILT = built_messages()
DEVICE_MESSAGES = [name for name, msg in BUILT.items() if msg["type"] != "config"]


def _example(name: str) -> dict[str, Any]:
    msg: dict[str, Any] = json.loads((EXAMPLES / name).read_text("utf-8"))
    return msg


# ----------------------------------------------------------------------------- 1. schemas


@pytest.mark.parametrize("name", sorted(SCHEMA_OF_TYPE.values()))
def test_schema_is_valid_draft_2020_12_with_id_and_title(name: str) -> None:
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"urn:stayactive:protocol:v1:{name}"
    assert schema["title"] and schema["description"]


def test_schemas_share_identical_common_definitions() -> None:
    # Each schema is self-contained so a vendor can use one file alone; the copies of the shared
    # definitions must therefore never drift apart.
    seen: dict[str, Any] = {}
    for name in SCHEMA_OF_TYPE.values():
        for key, definition in load_schema(name)["$defs"].items():
            assert seen.setdefault(key, definition) == definition, f"$defs/{key} in {name}"
    assert {"version", "deviceId", "timestamp"} <= seen.keys()


def test_frame_schema_says_equal_lengths_are_checked_elsewhere() -> None:
    frame = load_schema("walker-telemetry")["$defs"]["frame"]
    assert "array_length_mismatch" in frame["description"]


@pytest.mark.parametrize(
    "value",
    ["2026-02-30T10:00:00.000Z", "2026-11-26T10:00:00Z", "2026-11-26T10:00:00.000+01:00",
     "2026-11-26 10:00:00.000Z", "2026-11-26T24:00:00.000Z"],
)  # fmt: skip
def test_timestamp_outside_wire_format_is_invalid(value: str) -> None:
    msg = _example("status.json")
    msg["at"] = value
    assert schema_errors(msg)


def test_impossible_dates_are_caught_by_format_checking() -> None:
    # The pattern admits 30 February; only the date-time format check refuses it.
    msg = _example("status.json")
    msg["at"] = "2026-02-30T10:00:00.000Z"
    errors = list(validator("status").iter_errors(msg))
    assert [e.validator for e in errors] == ["format"]


def _status_offline_seq_5() -> dict[str, Any]:
    msg = _example("status-offline-will.json")
    return msg | {"seq": 5, "sent_at": msg["at"]}


def _frame_with(**changes: Any) -> dict[str, Any]:
    msg = _example("walker-telemetry.json")
    msg["frames"][0].update(changes)
    return msg


# Each case: (example file, change) -> still valid?
SCHEMA_RULES: list[tuple[str, dict[str, Any], bool]] = [
    ("status.json", {"battery_pct": None}, False),  # None = remove the field
    ("status.json", {"seq": 0}, False),  # seq 0 only for the will
    ("status.json", {"state": "sleeping"}, True),
    ("status.json", {"state": "offline", "battery_pct": None, "firmware": None}, True),
    ("status.json", {"voltage_v": 3.9}, False),  # no unknown fields
    ("status-offline-will.json", {"sent_at": "2026-11-26T07:12:44.031Z"}, False),
    ("status-offline-will.json", {"state": "online"}, False),
    ("robot-session-end.json", {"program": "x"}, False),  # a field of another event kind
    ("robot-session-end.json", {"event": "session_pause"}, False),
    ("robot-session-end.json", {"ended_reason": "crashed"}, False),
    ("robot-session-start.json", {"participants": []}, True),
    ("robot-session-start.json", {"participants": ["rb7Kq2xW", "rb7Kq2xW"]}, False),
    ("robot-session-start.json", {"participants": ["Ola Nordmann"]}, False),
    ("robot-sit-to-stand-test.json", {"rep_times": ["2026-11-26T10:12:06.720Z"] * 4}, False),
    ("robot-exercise.json", {"rep_times": []}, True),
    ("robot-exercise.json", {"exercise": "yoga"}, False),
    ("walker-telemetry.json", {"frames": []}, False),
    ("walker-telemetry.json", {"device_id": "W/0001"}, False),
    ("walker-telemetry.json", {"boot": 1.5}, False),
    ("config.json", {"led_brightness_pct": 40}, True),  # devices ignore unknown config fields
    ("config.json", {"config_id": 0}, False),
]


@pytest.mark.parametrize(("name", "changes", "valid"), SCHEMA_RULES)
def test_schema_rule(name: str, changes: dict[str, Any], valid: bool) -> None:
    msg = _example(name)
    for key, value in changes.items():
        if value is None:
            del msg[key]
        else:
            msg[key] = value
    assert (schema_errors(msg) == []) == valid, schema_errors(msg)


def test_offline_status_from_an_orderly_shutdown_is_valid() -> None:
    assert schema_errors(_status_offline_seq_5()) == []


@pytest.mark.parametrize(
    "changes",
    [{"brake": [0, 2, 0, 0, 0]}, {"brake": [True, False, False, False, False]},
     {"force_l": [72.4, -1.0, 81.2, 76.5, 70.1]}, {"acc_x": []}, {"mag_x": [0.1] * 5},
     {"rate_hz": 0.5}, {"t0": "2026-11-26T09:29:59.9Z"}],
)  # fmt: skip
def test_frame_rule_violations_are_invalid(changes: dict[str, Any]) -> None:
    assert schema_errors(_frame_with(**changes))


# ----------------------------------------------------------------------------- 2. examples


def test_examples_are_exactly_the_documented_set() -> None:
    assert sorted(f.name for f in EXAMPLES.glob("*.json")) == sorted(EXAMPLE_FILES)


@pytest.mark.parametrize("name", EXAMPLE_FILES)
def test_example_validates_against_its_schema(name: str) -> None:
    msg = _example(name)
    assert schema_errors(msg) == []


@pytest.mark.parametrize("name", [n for n in EXAMPLE_FILES if n != "config.json"])
@pytest.mark.parametrize("encoding", ["json", "cbor"])
def test_example_passes_every_backend_check(name: str, encoding: p.Encoding) -> None:
    msg = _example(name)
    payload = (EXAMPLES / name).read_bytes() if encoding == "json" else p.encode(msg, "cbor")
    received = max(p.parse_timestamp(t) for t in _timestamps(msg)) + timedelta(minutes=1)
    assert reject_reason(p.topic_of(msg), payload, received_at=received) is None


def test_example_config_reads_as_device_config() -> None:
    cfg = p.parse_config(_example("config.json"), device_id="W-0001")
    assert cfg == p.DeviceConfig(3, 50.0, 1.0, 5.0)
    assert (cfg.samples_per_frame, cfg.frames_per_upload) == (50, 5)


def test_unknown_config_fields_are_ignored_by_devices() -> None:
    msg = _example("config.json") | {"led_brightness_pct": 40}
    assert p.parse_config(msg, device_id="W-0001").config_id == 3
    with pytest.raises(p.ProtocolError):
        p.parse_config(msg, device_id="W-0002")


def test_example_sit_to_stand_total_matches_its_repetitions() -> None:
    msg = _example("robot-sit-to-stand-test.json")
    span = p.parse_timestamp(msg["rep_times"][-1]) - p.parse_timestamp(msg["started_at"])
    assert span.total_seconds() == pytest.approx(msg["total_s"])


# ----------------------------------------------------------------------------- 3. simulator


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
    ok = _frame(T0, 5, 50.0, np.random.default_rng(1))
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


# ----------------------------------------------------------------------------- 4. faults

FAULT_CASES = [
    (fault, name)
    for fault in faults.FAULTS
    for name in DEVICE_MESSAGES
    if fault != "unequal_arrays" or name == "walker_telemetry"
]


@pytest.mark.parametrize(("fault", "name"), FAULT_CASES)
@pytest.mark.parametrize("encoding", ["json", "cbor"])
def test_fault_gets_its_documented_reject_reason(
    fault: str, name: str, encoding: p.Encoding
) -> None:
    msg = BUILT[name]
    before = copy.deepcopy(msg)
    case = faults.FAULTS[fault](msg, encoding)
    assert msg == before, "the fault modified its input"
    assert case.expected_reason in p.REJECT_REASONS
    assert reject_reason(case.topic, case.payload, received_at=RECEIVED) == case.expected_reason


@pytest.mark.parametrize("encoding", ["json", "cbor"])
def test_oversized_telemetry_is_wrong_only_in_size(encoding: p.Encoding) -> None:
    case = faults.oversized(BUILT["walker_telemetry"], encoding)
    assert len(case.payload) > p.MAX_PAYLOAD_BYTES
    msg = p.decode(case.payload)
    assert schema_errors(msg) == []
    assert {len(frame[key]) for frame in msg["frames"] for key in FRAME_ARRAYS} == {2000}
    starts = [p.parse_timestamp(frame["t0"]) for frame in msg["frames"]]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)


def test_unequal_arrays_needs_telemetry() -> None:
    with pytest.raises(ValueError):
        faults.unequal_arrays(BUILT["status"])


def test_truncated_payload_is_invalid_for_any_decoder() -> None:
    case = faults.truncated(BUILT["status"], "json")
    with pytest.raises(json.JSONDecodeError):
        json.loads(case.payload)
    case = faults.truncated(BUILT["status"], "cbor")
    with pytest.raises(cbor2.CBORDecodeError):
        cbor2.loads(case.payload)


# ----------------------------------------------------------------------------- 5. protocol.md


def _shell_commands(markdown: str) -> list[str]:
    blocks = re.findall(r"```(?:sh|bash|shell)\n(.*?)```", markdown, flags=re.DOTALL)
    joined = "\n".join(blocks).replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if line.strip()]


def _mosquitto_commands() -> list[str]:
    commands = _shell_commands((DOCS / "protocol.md").read_text("utf-8"))
    return [c for c in commands if re.search(r"\bmosquitto_(pub|sub) ", c)]


def _argv(command: str) -> list[str]:
    # The mosquitto part of a pipeline (`python3 … examples/x.json | mosquitto_pub … -s`).
    part = next(seg for seg in command.split(" | ") if "mosquitto_" in seg)
    return shlex.split(part)


def _option(argv: list[str], *names: str) -> str | None:
    for i, arg in enumerate(argv[:-1]):
        if arg in names:
            return argv[i + 1]
    return None


def _examples_in(command: str) -> list[str]:
    return re.findall(r"examples/[A-Za-z0-9._-]+", command)


def test_protocol_md_has_a_command_for_every_example() -> None:
    referenced = {path for c in _mosquitto_commands() for path in _examples_in(c)}
    assert referenced == {f"examples/{name}" for name in EXAMPLE_FILES}


@pytest.mark.parametrize("command", _mosquitto_commands())
def test_mosquitto_command_matches_its_example(command: str) -> None:
    """Each command, pasted as it stands in docs/, sends an existing example where it belongs."""
    (path,) = _examples_in(command)
    assert (DOCS / path).is_file(), f"{path} (the commands run from docs/)"
    msg = _example(Path(path).name)
    argv = _argv(command)
    assert _option(argv, "-h") == "127.0.0.1" and _option(argv, "-p") == "18830"
    assert (_option(argv, "-P") or "").startswith("$"), "passwords come from a variable"
    assert _option(argv, "-q") == "1"
    assert _option(argv, "-i", "--id") is None, "must not take over a device's session"
    user = _option(argv, "-u")
    assert user is not None
    if argv[0] == "mosquitto_sub":  # a device subscribing with its last will registered
        assert user == msg["device_id"] and msg["seq"] == 0
        assert _option(argv, "-t") == p.topic(user, "config")
        assert _option(argv, "--will-topic") == p.topic_of(msg)
        assert _option(argv, "--will-payload") == f"$(cat {path})"
        assert "--will-retain" in argv and _option(argv, "--will-qos") == "1"
        return
    assert user == ("ingest" if msg["type"] == "config" else msg["device_id"])
    assert _option(argv, "-t") == p.topic_of(msg)
    assert ("-r" in argv) == (msg["type"] in ("status", "config"))
    assert (_option(argv, "-f") == path) != ("-s" in argv)
