"""The published JSON Schemas (``ingest/schemas``) and the rules validation reads from them.

Validation (:mod:`ingest.validate`) and the fast path (:mod:`ingest.fastpath`) take every
limit from here, so the schemas stay the one source of each: jsonschema validators with local
references inlined, and the walker frame's rules read once for a vectorised check.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
from jsonschema import Draft202012Validator, FormatChecker

from ingest.messages import FLOAT_CHANNELS

SCHEMA_OF_TYPE = {
    "walker.telemetry": "walker-telemetry",
    "robot.event": "robot-event",
    "status": "status",
}
_RANGE_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def load_schema(name: str) -> dict[str, Any]:
    """The published JSON Schema ``name`` (e.g. ``status``) shipped in ``ingest/schemas``."""
    text = resources.files("ingest").joinpath("schemas", f"{name}.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _without(node: Any, drop: Callable[[dict[str, Any]], None]) -> Any:
    if isinstance(node, dict):
        node = {k: _without(v, drop) for k, v in node.items()}
        drop(node)
    elif isinstance(node, list):
        node = [_without(v, drop) for v in node]
    return node


def _drop_ranges(node: dict[str, Any]) -> None:
    for keyword in _RANGE_KEYWORDS:
        node.pop(keyword, None)


@cache
def validators(message_type: str) -> tuple[Draft202012Validator, Draft202012Validator]:
    """(structure without range bounds, full) validators. Telemetry frames are checked by
    FrameRules instead, with the same rules read from the schema, many times faster."""
    schema = copy.deepcopy(load_schema(SCHEMA_OF_TYPE[message_type]))
    if message_type == "walker.telemetry":
        schema["properties"]["frames"]["items"] = {"type": "object"}  # see FrameRules
    schema = _inline_refs(schema, schema.get("$defs", {}))
    checker = FormatChecker()
    return (
        Draft202012Validator(_without(schema, _drop_ranges), format_checker=checker),
        Draft202012Validator(schema, format_checker=checker),
    )


def _inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    """Replace local ``{"$ref": "#/$defs/x", ...}`` by the definition (siblings kept): resolving
    references at every validation was a third of jsonschema's time per message."""
    if isinstance(node, list):
        return [_inline_refs(v, defs) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _inline_refs(v, defs) for k, v in node.items() if k != "$defs"}
    ref = out.pop("$ref", None)
    if ref is None:
        return out
    name = str(ref).removeprefix("#/$defs/")
    return {**_inline_refs(defs[name], defs), **out}


Samples = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True)
class FrameRules:
    """The frame schema's rules, read from it once, for a hand-written check of each frame."""

    keys: frozenset[str]
    timestamp: re.Pattern[str]
    rate_hz: tuple[float, float]
    n_samples: tuple[int, int]
    bounds: dict[str, tuple[float, float]]
    low: Samples  # the bounds as (channels, 1) columns, to check a frame's samples in one go
    high: Samples

    @classmethod
    @cache
    def load(cls) -> FrameRules:
        schema = load_schema("walker-telemetry")
        frame = schema["$defs"]["frame"]
        props = frame["properties"]
        assert set(frame["required"]) == set(props) and frame["additionalProperties"] is False
        sizes = {(p["minItems"], p["maxItems"]) for p in props.values() if p.get("type") == "array"}
        assert len(sizes) == 1, "all sample arrays share one length range"
        bounds = {
            n: (float(props[n]["items"]["minimum"]), float(props[n]["items"]["maximum"]))
            for n in FLOAT_CHANNELS
        }
        return cls(
            keys=frozenset(props),
            timestamp=re.compile(schema["$defs"]["timestamp"]["pattern"]),
            rate_hz=(props["rate_hz"]["minimum"], props["rate_hz"]["maximum"]),
            n_samples=sizes.pop(),
            bounds=bounds,
            low=np.array([[bounds[n][0]] for n in FLOAT_CHANNELS], dtype=np.float64),
            high=np.array([[bounds[n][1]] for n in FLOAT_CHANNELS], dtype=np.float64),
        )
