"""The published JSON Schemas: valid draft 2020-12, identical shared definitions, their rules."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.protocol.protocol_helpers import (
    SCHEMA_OF_TYPE,
    example,
    load_schema,
    schema_errors,
    validator,
)


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
    msg = example("status.json")
    msg["at"] = value
    assert schema_errors(msg)


def test_impossible_dates_are_caught_by_format_checking() -> None:
    # The pattern admits 30 February; only the date-time format check refuses it.
    msg = example("status.json")
    msg["at"] = "2026-02-30T10:00:00.000Z"
    errors = list(validator("status").iter_errors(msg))
    assert [e.validator for e in errors] == ["format"]


def _status_offline_seq_5() -> dict[str, Any]:
    msg = example("status-offline-will.json")
    return msg | {"seq": 5, "sent_at": msg["at"]}


def _frame_with(**changes: Any) -> dict[str, Any]:
    msg = example("walker-telemetry.json")
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
    msg = example(name)
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
