"""The fast path and the published schemas give every message the same verdict.

``ingest.fastpath`` decodes and checks walker telemetry with msgspec; ``validate_exact`` checks
against the JSON Schemas. They must agree on every example and fault (whose expected reasons
firmware_sim.faults states), in both encodings, and on a few thousand generated messages; and
what the fast path accepts must be exactly what the exact checks make of the message.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_sim import faults
from firmware_sim import protocol as p
from ingest import fastpath
from ingest.messages import Accepted, Received, Reject, WalkerTelemetry
from ingest.validate import validate, validate_exact
from tests.fixtures.generated import NOW, REGISTRY, RETENTION, encode, publications, telemetry
from tests.protocol.protocol_helpers import BUILT, DEVICE_MESSAGES, EXAMPLE_FILES, EXAMPLES

RECEIVED = NOW


def _verdict(outcome: Accepted | Reject) -> str | None:
    return outcome.reason if isinstance(outcome, Reject) else None


def _same_content(a: Accepted, b: Accepted) -> bool:
    if not (isinstance(a, WalkerTelemetry) and isinstance(b, WalkerTelemetry)):
        return a == b
    return a.envelope == b.envelope and all(
        x.t0 == y.t0
        and x.rate_hz == y.rate_hz
        and np.array_equal(x.samples, y.samples)
        and np.array_equal(x.brake, y.brake)
        for x, y in zip(a.frames, b.frames, strict=True)
    )


def check_agreement(topic: str, payload: bytes, content_type: str | None = None) -> str | None:
    """Assert the fast path and the exact checks agree; return the verdict."""
    message = Received(topic, payload, RECEIVED, content_type)
    exact = validate_exact(message, REGISTRY.get, retention=RETENTION)
    fast = fastpath.accept(message, REGISTRY.get, retention=RETENTION)
    if fast is not None:
        assert not isinstance(exact, Reject), f"fast path accepted a {exact.reason}"
        assert _same_content(fast, exact)
    combined = validate(message, REGISTRY.get, retention=RETENTION)
    assert _verdict(combined) == _verdict(exact), getattr(exact, "detail", "")
    return _verdict(exact)


@pytest.mark.parametrize("name", [n for n in EXAMPLE_FILES if n != "config.json"])
@pytest.mark.parametrize("encoding", ["json", "cbor"])
def test_examples_agree(name: str, encoding: p.Encoding) -> None:
    msg = json.loads((EXAMPLES / name).read_text())
    payload = (EXAMPLES / name).read_bytes() if encoding == "json" else p.encode(msg, "cbor")
    # The examples are of 2026-11-26 and RECEIVED is noon that day: all in the past, in window.
    assert check_agreement(p.topic_of(msg), payload) is None


FAULT_CASES = [
    (fault, name)
    for fault in sorted(faults.FAULTS)
    for name in DEVICE_MESSAGES
    if fault != "unequal_arrays" or name == "walker_telemetry"  # telemetry's fault only
]


@pytest.mark.parametrize(("fault", "name"), FAULT_CASES)
@pytest.mark.parametrize("encoding", ["json", "cbor"])
def test_faults_agree(name: str, fault: str, encoding: p.Encoding) -> None:
    msg = BUILT[name]
    case = faults.FAULTS[fault](msg, encoding)
    assert check_agreement(case.topic, case.payload) == case.expected_reason


def test_the_fast_path_takes_ordinary_telemetry() -> None:
    msg = BUILT["walker_telemetry"]
    for encoding in ("json", "cbor"):
        message = Received(p.topic_of(msg), p.encode(msg, encoding), RECEIVED)
        assert fastpath.accept(message, REGISTRY.get, retention=RETENTION) is not None


@pytest.mark.parametrize(
    "payload",
    [
        # A repeated key: msgspec would keep the last; the key count sends it to the exact path.
        b'{"v":1,"v":1,"type":"walker.telemetry"}',
        b'{"v":1 ,"type":"walker.telemetry","v" :1}',
    ],
)
def test_repeated_keys_are_never_taken_by_the_fast_path(payload: bytes) -> None:
    assert check_agreement("stayactive/v1/W-0001/telemetry", payload) == "undecodable"


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(publications())
def test_generated_messages_agree(publication: tuple[str, bytes]) -> None:
    check_agreement(*publication)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(telemetry(), st.sampled_from(["json", "cbor"]))
def test_generated_telemetry_agrees(msg: dict[str, Any], encoding: str) -> None:
    check_agreement("stayactive/v1/W-0001/telemetry", encode(msg, encoding))
