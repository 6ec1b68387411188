"""Shared by the protocol tests: the published schemas, the backend's checks, sample messages.

docs/protocol.md, ingest/schemas/*.schema.json, docs/examples/*.json and firmware_sim.protocol /
firmware_sim.faults describe one contract; the tests beside this file hold them together.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from jsonschema import Draft202012Validator, FormatChecker

from firmware_sim import protocol as p
from ingest.messages import Received, Reject
from ingest.validate import DeviceInfo, validate

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
RETENTION = timedelta(days=400)
# Messages built in these tests are stamped at T0 and "received" one second later.
T0 = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
RECEIVED = T0 + timedelta(seconds=1)


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


def timestamps(value: Any, key: str | None = None) -> Iterator[str]:
    """Every wire timestamp in a message (the fields in ``TIMESTAMP_FIELDS``)."""
    if isinstance(value, dict):
        for k, item in value.items():
            yield from timestamps(item, k)
    elif isinstance(value, list):
        for item in value:
            yield from timestamps(item, key)
    elif isinstance(value, str) and key in TIMESTAMP_FIELDS:
        yield value


def _registered(device_id: str) -> DeviceInfo:
    kind = "robot" if device_id.startswith("R-") else "walker"
    return DeviceInfo(device_id, "test", kind, True)


def reject_reason(
    topic: str, payload: bytes, *, received_at: datetime, content_type: str | None = None
) -> str | None:
    """The reason the backend rejects this message for, None if it accepts it.

    It is the real ``ingest.validate``, whose checks run in the order protocol.md documents,
    with every device registered and active (the registry checks need a database; the ingest
    tests cover them).
    """
    received = Received(topic, payload, received_at, content_type)
    outcome = validate(received, _registered, retention=RETENTION)
    return outcome.reason if isinstance(outcome, Reject) else None


def walker_frame(t0: datetime, n: int, rate_hz: float, rng: np.random.Generator) -> p.WalkerFrame:
    """A walker frame of slow walking, ``n`` samples from ``t0``."""
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
        walker_frame(T0 - timedelta(seconds=5 - i), cfg.samples_per_frame, cfg.rate_hz, rng)
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


def example(name: str) -> dict[str, Any]:
    msg: dict[str, Any] = json.loads((EXAMPLES / name).read_text("utf-8"))
    return msg
