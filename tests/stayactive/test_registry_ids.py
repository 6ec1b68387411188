"""The id patterns are written once for the code; the schema and the protocol hold copies.

The database's CHECK constraints, the published JSON Schemas and the simulator (which must not
import the backend) each spell the patterns out; these tests keep every copy equal to
:mod:`stayactive.registry`'s.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from firmware_sim import protocol as p
from stayactive import registry
from stayactive.errors import ConfigurationError

ROOT = Path(__file__).resolve().parents[2]
MIGRATION = (ROOT / "stayactive" / "db" / "migrations" / "0001_registry.sql").read_text("utf-8")


def _schema(name: str) -> dict[str, object]:
    text = (ROOT / "ingest" / "schemas" / f"{name}.schema.json").read_text("utf-8")
    schema: dict[str, object] = json.loads(text)
    return schema


@pytest.mark.parametrize(
    ("column", "pattern"),
    [
        ("tenant_id", registry.TENANT_ID_PATTERN),
        ("device_id", registry.DEVICE_ID_PATTERN),
        ("pseudonym", registry.PSEUDONYM_PATTERN),
    ],
)
def test_the_schema_checks_the_same_patterns(column: str, pattern: str) -> None:
    assert f"CHECK ({column} ~ '^{pattern}$')" in MIGRATION


@pytest.mark.parametrize("name", ["walker-telemetry", "robot-event", "status", "config"])
def test_the_protocol_has_the_same_device_id(name: str) -> None:
    defs = _schema(name)["$defs"]
    assert isinstance(defs, dict)
    assert defs["deviceId"]["pattern"] == f"^{registry.DEVICE_ID_PATTERN}$"
    assert p.DEVICE_ID_PATTERN.pattern == f"^{registry.DEVICE_ID_PATTERN}$"


def test_the_protocol_has_the_same_pseudonym() -> None:
    defs = _schema("robot-event")["$defs"]
    assert isinstance(defs, dict)
    assert defs["pseudonym"]["pattern"] == f"^{registry.PSEUDONYM_PATTERN}$"


def test_the_checks() -> None:
    assert registry.is_device_id("W-0001") and not registry.is_device_id("-W")
    assert not registry.is_device_id("W" * 65) and not registry.is_device_id("W-1\n")
    assert registry.is_tenant_id("stavanger") and not registry.is_tenant_id("Stavanger")
    assert registry.is_pseudonym("rb7Kq2xW") and not registry.is_pseudonym("ab")
    assert registry.check_tenant_id("bergen") == "bergen"
    with pytest.raises(ConfigurationError, match="lower-case"):
        registry.check_tenant_id("Not A Tenant")
