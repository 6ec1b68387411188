"""Validation as a unit: every documented reject reason, in both encodings, without a database."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import cbor2
import numpy as np
import pytest

from firmware_sim import protocol as p
from firmware_sim.faults import FAULTS
from ingest.messages import Received, Reject, RobotEvent, Status, WalkerTelemetry
from ingest.validate import validate
from tests.fixtures.generated import NOW, REGISTRY, RETENTION

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def check(topic: str, payload: bytes, content_type: str | None = None) -> Any:
    received = Received(topic, payload, NOW, content_type)
    return validate(received, REGISTRY.get, retention=RETENTION)


def good_telemetry() -> dict[str, Any]:
    rng = np.random.default_rng(3)
    t0 = NOW - timedelta(seconds=10)
    frames = [
        p.WalkerFrame(
            t0 + timedelta(seconds=i), 50.0, 9.81 + rng.standard_normal((50, 3)),
            0.1 * rng.standard_normal((50, 3)), np.full((50, 2), 0.01), np.full((50, 2), 80.0),
            np.zeros(50, dtype=bool),
        )
        for i in range(5)
    ]  # fmt: skip
    return p.walker_telemetry("W-0001", 4, 10, NOW - timedelta(seconds=4), frames)


DEVICE_EXAMPLES = sorted(p.name for p in EXAMPLES.glob("*.json") if p.name != "config.json")


@pytest.mark.parametrize("name", DEVICE_EXAMPLES)
def test_documented_examples_are_accepted(name: str) -> None:
    doc = json.loads((EXAMPLES / name).read_text())
    outcome = check(p.topic_of(doc), (EXAMPLES / name).read_bytes())
    assert not isinstance(outcome, Reject), outcome
    assert isinstance(outcome, WalkerTelemetry | RobotEvent | Status)
    assert outcome.envelope.tenant_id == "stavanger"


@pytest.mark.parametrize("encoding", ["json", "cbor"])
def test_telemetry_keeps_every_sample(encoding: p.Encoding) -> None:
    msg = good_telemetry()
    outcome = check(p.topic_of(msg), p.encode(msg, encoding))
    assert isinstance(outcome, WalkerTelemetry)
    assert len(outcome.frames) == 5
    first = outcome.frames[0]
    assert first.samples[0].tolist() == msg["frames"][0]["acc_x"]
    assert first.rate_hz == 50.0 and first.brake.shape == (50,)


@pytest.mark.parametrize("encoding", ["json", "cbor"])
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_every_simulator_fault_gets_its_documented_reason(fault: str, encoding: p.Encoding) -> None:
    case = FAULTS[fault](good_telemetry(), encoding)
    outcome = check(case.topic, case.payload)
    assert isinstance(outcome, Reject)
    assert outcome.reason == case.expected_reason, outcome.detail
    assert outcome.payload == case.payload  # kept as received


def test_unknown_and_inactive_devices() -> None:
    msg = json.loads((EXAMPLES / "status.json").read_text())
    for device, reason in (("W-0404", "unknown_device"), ("W-0099", "inactive_device")):
        msg["device_id"] = device
        outcome = check(f"stayactive/v1/{device}/status", json.dumps(msg).encode())
        assert isinstance(outcome, Reject) and outcome.reason == reason


def test_a_robot_event_reject_says_what_is_wrong_with_its_kind() -> None:
    # The detail was the oneOf's "{whole message} is not valid under any of the given schemas".
    sit = json.loads((EXAMPLES / "robot-sit-to-stand-test.json").read_text())
    sit["rep_times"] = sit["rep_times"][:4]
    start = json.loads((EXAMPLES / "robot-session-start.json").read_text())
    start["participants"] = [start["participants"][0]] * 2
    for msg, where in ((sit, "rep_times: "), (start, "participants: ")):
        outcome = check(p.topic_of(msg), json.dumps(msg).encode())
        assert isinstance(outcome, Reject) and outcome.reason == "schema_invalid"
        assert outcome.detail.startswith(where), outcome.detail
        assert "not valid under any of the given schemas" not in outcome.detail


def test_a_message_of_another_kind_of_device_is_refused() -> None:
    # A robot's walker.telemetry was stored as walker frames of the robot.
    for name, sender in (("walker-telemetry.json", "R-0001"), ("robot-exercise.json", "W-0001")):
        msg = json.loads((EXAMPLES / name).read_text())
        msg["device_id"] = sender
        outcome = check(p.topic_of(msg), json.dumps(msg).encode())
        assert isinstance(outcome, Reject), outcome
        assert outcome.reason == "wrong_device_kind", outcome.detail
        assert sender in outcome.detail
    for sender in ("W-0001", "R-0001"):  # status comes from either kind
        msg = json.loads((EXAMPLES / "status.json").read_text())
        msg["device_id"] = sender
        assert isinstance(check(p.topic_of(msg), json.dumps(msg).encode()), Status)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "undecodable"),
        (b"[1, 2]", "undecodable"),
        (b'{"v": 1, "v": 1}', "undecodable"),
        (b'{"v": NaN}', "undecodable"),
        (cbor2.dumps({"v": 1}) + b"\x00", "undecodable"),
        (cbor2.dumps({"v": b"bytes"}), "undecodable"),
        (b'{"v": true}', "unsupported_version"),
        (b'{"v": 1, "device_id": "W-0001", "type": "nonsense"}', "schema_invalid"),
        (b'{"v": 1, "device_id": "W-0001", "type": "config"}', "wrong_channel"),
        (b'{"v": 1, "device_id": "W-0001", "type": "robot.event"}', "wrong_channel"),
    ],
)
def test_malformed_payloads(payload: bytes, reason: str) -> None:
    outcome = check("stayactive/v1/W-0001/status", payload)
    assert isinstance(outcome, Reject)
    assert outcome.reason == reason, outcome.detail


def test_impossible_calendar_date_is_schema_invalid() -> None:
    msg = json.loads((EXAMPLES / "status.json").read_text())
    msg["at"] = "2026-02-30T10:00:00.000Z"
    outcome = check("stayactive/v1/W-0001/status", json.dumps(msg).encode())
    assert isinstance(outcome, Reject) and outcome.reason == "schema_invalid"


def test_nan_in_cbor_status_is_out_of_range() -> None:
    msg = json.loads((EXAMPLES / "status.json").read_text())
    msg["battery_pct"] = float("nan")
    outcome = check("stayactive/v1/W-0001/status", cbor2.dumps(msg))
    assert isinstance(outcome, Reject) and outcome.reason == "value_out_of_range"


def test_out_of_range_sample_detail_names_the_plain_number() -> None:
    # The detail is for operators: a numpy repr (np.float64(200.0)) is noise to them.
    msg = good_telemetry()
    msg["frames"][1]["acc_x"][3] = 200.0
    outcome = check("stayactive/v1/W-0001/telemetry", json.dumps(msg).encode())
    assert isinstance(outcome, Reject) and outcome.reason == "value_out_of_range"
    assert outcome.detail == "frames/1/acc_x/3 = 200.0 outside (-160.0, 160.0)"


def test_too_old_rep_time_is_rejected() -> None:
    msg = json.loads((EXAMPLES / "robot-exercise.json").read_text())
    msg["rep_times"][0] = "2024-01-01T10:00:00.000Z"
    outcome = check("stayactive/v1/R-0001/events", json.dumps(msg).encode())
    assert isinstance(outcome, Reject) and outcome.reason == "timestamp_too_old"


def test_content_type_decides_the_encoding() -> None:
    payload = (EXAMPLES / "status.json").read_bytes()
    outcome = check("stayactive/v1/W-0001/status", payload, "application/cbor")
    assert isinstance(outcome, Reject) and outcome.reason == "undecodable"
    outcome = check("stayactive/v1/W-0001/status", payload, "application/json; charset=utf-8")
    assert isinstance(outcome, Status)
