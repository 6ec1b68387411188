"""Every simulator fault is rejected by the backend with the reason code it claims."""

from __future__ import annotations

import copy
import json

import cbor2
import pytest

from firmware_sim import faults
from firmware_sim import protocol as p
from tests.protocol.protocol_helpers import (
    BUILT,
    DEVICE_MESSAGES,
    FRAME_ARRAYS,
    RECEIVED,
    reject_reason,
    schema_errors,
)

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
    assert p.MAX_PAYLOAD_BYTES < len(case.payload) <= faults.OVERSIZE_MAX_BYTES
    msg = p.decode(case.payload)
    assert schema_errors(msg) == []
    *full, last = msg["frames"]
    assert {len(frame[key]) for frame in full for key in FRAME_ARRAYS} == {2000}
    assert len({len(last[key]) for key in FRAME_ARRAYS}) == 1  # the last one just passes
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
