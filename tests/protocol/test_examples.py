"""The examples in docs/examples: exactly the documented set, valid, accepted by the backend."""

from __future__ import annotations

from datetime import timedelta

import pytest

from firmware_sim import protocol as p
from tests.protocol.protocol_helpers import (
    EXAMPLE_FILES,
    EXAMPLES,
    example,
    reject_reason,
    schema_errors,
    timestamps,
)


def test_examples_are_exactly_the_documented_set() -> None:
    assert sorted(f.name for f in EXAMPLES.glob("*.json")) == sorted(EXAMPLE_FILES)


@pytest.mark.parametrize("name", EXAMPLE_FILES)
def test_example_validates_against_its_schema(name: str) -> None:
    msg = example(name)
    assert schema_errors(msg) == []


@pytest.mark.parametrize("name", [n for n in EXAMPLE_FILES if n != "config.json"])
@pytest.mark.parametrize("encoding", ["json", "cbor"])
def test_example_passes_every_backend_check(name: str, encoding: p.Encoding) -> None:
    msg = example(name)
    payload = (EXAMPLES / name).read_bytes() if encoding == "json" else p.encode(msg, "cbor")
    received = max(p.parse_timestamp(t) for t in timestamps(msg)) + timedelta(minutes=1)
    assert reject_reason(p.topic_of(msg), payload, received_at=received) is None


def test_example_config_reads_as_device_config() -> None:
    cfg = p.parse_config(example("config.json"), device_id="W-0001")
    assert cfg == p.DeviceConfig(3, 50.0, 1.0, 5.0)
    assert (cfg.samples_per_frame, cfg.frames_per_upload) == (50, 5)


def test_unknown_config_fields_are_ignored_by_devices() -> None:
    msg = example("config.json") | {"led_brightness_pct": 40}
    assert p.parse_config(msg, device_id="W-0001").config_id == 3
    with pytest.raises(p.ProtocolError):
        p.parse_config(msg, device_id="W-0002")


def test_example_sit_to_stand_total_matches_its_repetitions() -> None:
    msg = example("robot-sit-to-stand-test.json")
    span = p.parse_timestamp(msg["rep_times"][-1]) - p.parse_timestamp(msg["started_at"])
    assert span.total_seconds() == pytest.approx(msg["total_s"])
