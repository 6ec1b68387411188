"""The OpenAPI contract, fuzzed: schemathesis sends generated requests (valid and invalid) to
every operation of the real API over a socket, authenticated as an admin (a device for
``/telemetry``), and checks that nothing answers 5xx and every answer conforms to the schema
(status code documented, content type, body schema, headers)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance
from schemathesis.schemas import APIOperation

from stayactive.api import create_app
from stayactive.settings import Settings
from tests.api.conftest import FUZZ_COUNTS, PASSWORD, World, build_world

MAX_EXAMPLES = 30


@dataclass
class Fuzzed:
    world: World
    device_basic: str
    requests: int = 0
    counts: dict[str, dict[str, int]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def fuzzed(
    settings: Settings, password_hash: str, request: pytest.FixtureRequest
) -> Iterator[Fuzzed]:
    for world in build_world(settings, password_hash):
        admin = world.client("tenant-a-admin")
        r = admin.post(
            "/devices",
            json={
                "device_id": "W-fuzz-http",
                "kind": "walker",
                "serial": "SN-fuzz",
                "ward_id": world.a.ward_ids[0],
            },
        )
        assert r.status_code == 201, r.text
        creds = r.json()
        basic = base64.b64encode(f"{creds['username']}:{creds['password']}".encode()).decode()
        fuzzed = Fuzzed(world, basic)
        yield fuzzed
        # Read by the terminal summary in conftest.py.
        setattr(request.config, FUZZ_COUNTS, fuzzed.counts)


def _fresh_token(world: World) -> str:
    with httpx.Client(base_url=world.api.url, timeout=30) as c:
        r = c.post("/api/v1/auth/token", data={"username": "tenant-a-admin", "password": PASSWORD})
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])


# The operations are read from the app's OpenAPI document at collection (no server needed),
# one test each; the cases are sent to the running API of the module's world.
_SCHEMA = schemathesis.openapi.from_dict(create_app(Settings()).openapi())
_OPERATIONS = [result.ok() for result in _SCHEMA.get_all_operations()]


@pytest.mark.parametrize("operation", _OPERATIONS, ids=[op.label for op in _OPERATIONS])
def test_operation(operation: APIOperation, fuzzed: Fuzzed) -> None:
    """Valid and invalid requests for the operation: no 5xx, every answer as documented."""
    path = operation.path
    if path.endswith("/telemetry"):
        headers = {"Authorization": "Basic " + fuzzed.device_basic}
    elif path.endswith("/auth/logout") or path.endswith("/auth/refresh"):
        headers = {"Authorization": "Bearer " + _fresh_token(fuzzed.world)}
    else:
        headers = {"Authorization": "Bearer " + fuzzed.world.token("tenant-a-admin")}
    sent = {mode: 0 for mode in GenerationMode}
    for mode in GenerationMode:
        _fuzz(operation, mode, fuzzed, headers, sent)
    assert sent[GenerationMode.POSITIVE] > 0
    fuzzed.requests += sum(sent.values())
    fuzzed.counts[operation.label] = {m.value: n for m, n in sent.items()}


def _fuzz(
    operation: APIOperation,
    mode: GenerationMode,
    fuzzed: Fuzzed,
    headers: dict[str, str],
    sent: dict[GenerationMode, int],
) -> None:

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: schemathesis.Case) -> None:
        sent[mode] += 1
        # A valid request may still be refused for what it asks (an id that does not
        # exist, a range over a year): that is the API's business, not a contract breach.
        case.call_and_validate(
            base_url=fuzzed.world.api.url,
            headers=headers,
            excluded_checks=[positive_data_acceptance],
        )

    try:
        run()
    except Unsatisfiable:
        # Nothing of the operation can be made invalid (no parameters, no body).
        assert mode is GenerationMode.NEGATIVE and sent[mode] == 0, operation.label
