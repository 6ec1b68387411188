"""The fast path and the published schemas give every message the same verdict.

``ingest.fastpath`` decodes and checks walker telemetry with msgspec; ``validate_exact`` checks
against the JSON Schemas. They must agree on every example and fault (whose expected reasons
firmware_sim.faults states), in both encodings, and on a few thousand generated messages; and
what the fast path accepts must be exactly what the exact checks make of the message.
"""

from __future__ import annotations

import json
import re
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
        and x.samples.dtype == y.samples.dtype
        and x.samples.tobytes() == y.samples.tobytes()  # bit for bit: -0.0 is not 0.0
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


def _with_samples(acc_x: str, gyro_z: str | None = None) -> bytes:
    """The built telemetry message (5 frames of 50 samples) with its first frame's acc_x (and
    gyro_z) array written as given."""
    payload = p.encode(BUILT["walker_telemetry"], "json").decode()
    payload = re.sub(r'"acc_x":\[[^]]*\]', lambda _: f'"acc_x":{acc_x}', payload, count=1)
    if gyro_z is not None:
        payload = re.sub(r'"gyro_z":\[[^]]*\]', lambda _: f'"gyro_z":{gyro_z}', payload, count=1)
    return payload.encode()


def _fifty(*numbers: str) -> str:
    return "[" + ",".join([*numbers, *["1.5"] * (50 - len(numbers))]) + "]"


# Sample arrays as JSON may write them: the fast path reads them as the exact checks do.
READ_ALIKE = {
    "exponents": _fifty("1e1", "1E+1", "-2.5e-3", "1e-400", "15e0", "0.00001e6"),
    "zeros": _fifty("-0", "-0.0", "0", "0.0", "-0e0", "-0.0e-5"),
    "integers": _fifty("1", "-160", "160", "7", "0"),
    "bounds": _fifty("-160", "160.0", "-159.99999999999997", "159.99999999999997"),
    "digits": _fifty("0.1", "0.30000000000000004", "1.00000000000000011102230246251565404236"),
    "white space": "[ " + " ,\n ".join(["-0.25"] * 50) + "\t]",
}
# And what must be refused, with the exact checks' reason.
REFUSED = {
    "above the maximum": (_fifty("160.00000000000003"), "value_out_of_range"),
    "below the minimum": (_fifty("-1.6e2", "-160.1"), "value_out_of_range"),
    "far beyond a double": (_fifty("1e400"), "value_out_of_range"),
    "beyond 64 bits": (_fifty("18446744073709551616"), "value_out_of_range"),
    "NaN": (_fifty("NaN"), "undecodable"),
    "Infinity": (_fifty("-Infinity"), "undecodable"),
    "a string": (_fifty('"1.5"'), "schema_invalid"),
    "true": (_fifty("true"), "schema_invalid"),
    "null": (_fifty("null"), "schema_invalid"),
    "a nested array": (_fifty("[1.5]"), "schema_invalid"),
    "an object": (_fifty("{}"), "schema_invalid"),
    "a number for an array": ("1.5", "schema_invalid"),
    "an empty array": ("[]", "schema_invalid"),
    "one sample short": ("[" + ",".join(["1.5"] * 49) + "]", "array_length_mismatch"),
    "one sample more": ("[" + ",".join(["1.5"] * 51) + "]", "array_length_mismatch"),
    "a leading zero": (_fifty("01.5"), "undecodable"),
    "a trailing comma": (_fifty()[:-1] + ",]", "undecodable"),
}


@pytest.mark.parametrize("case", sorted(READ_ALIKE))
def test_sample_arrays_written_every_valid_way_are_taken_alike(case: str) -> None:
    payload = _with_samples(READ_ALIKE[case], gyro_z=_fifty("-0", "0.5e-1", "-35"))
    assert check_agreement("stayactive/v1/W-0001/telemetry", payload) is None
    message = Received("stayactive/v1/W-0001/telemetry", payload, RECEIVED)
    wire = fastpath._decoder(raw_samples=True).decode(payload)
    assert fastpath._raw_samples(wire) is not None, "read without a float per value"
    assert fastpath.accept(message, REGISTRY.get, retention=RETENTION) is not None


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_sample_arrays_the_schema_refuses_get_the_exact_reason(case: str) -> None:
    text, reason = REFUSED[case]
    assert check_agreement("stayactive/v1/W-0001/telemetry", _with_samples(text)) == reason
    assert check_agreement("stayactive/v1/W-0001/telemetry", _with_samples(_fifty(), text)) == (
        reason
    )
