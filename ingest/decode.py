"""Payload → message object, strictly as the protocol's "Encodings" section prescribes.

The simulator has its own implementation of the same rules (it must not import ingest); the
protocol tests hold both to the examples in docs/protocol.md.
"""

from __future__ import annotations

import io
import json
from typing import Any

import cbor2

JSON_TYPE = "application/json"
CBOR_TYPE = "application/cbor"


class Undecodable(ValueError):
    """The payload is not a JSON or CBOR object as the protocol allows."""


def decode(payload: bytes, content_type: str | None = None) -> dict[str, Any]:
    """Decode ``payload``; an MQTT 5 content type decides the encoding, else the first byte."""
    if content_type is not None:
        kind = content_type.split(";", 1)[0].strip().lower()
        if kind not in (JSON_TYPE, CBOR_TYPE):
            raise Undecodable(f"unsupported content type {content_type!r}")
    elif payload.lstrip(b" \t\r\n")[:1] == b"{":
        kind = JSON_TYPE
    elif payload and 0xA0 <= payload[0] <= 0xBF:
        kind = CBOR_TYPE
    else:
        raise Undecodable("the payload is neither a JSON object nor a CBOR map")
    value = _json(payload) if kind == JSON_TYPE else _cbor(payload)
    if not isinstance(value, dict):
        raise Undecodable(f"the top level is a {type(value).__name__}, not an object")
    return value


def _json(payload: bytes) -> Any:
    try:
        text = payload.decode("utf-8")
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constants)
    except (ValueError, RecursionError) as exc:
        raise Undecodable(f"invalid JSON: {exc}") from exc


def _utf8(text: str) -> None:
    # "\ud800" is valid JSON syntax but no UTF-8 text: it could not be stored or sent on.
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise Undecodable(f"a string with an unpaired surrogate: {text[:40]!r}") from exc


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # With a repeated key two decoders could read two different messages.
    for key, value in pairs:
        _utf8(key)
        if isinstance(value, str):
            _utf8(value)
        elif isinstance(value, list):
            _utf8_items(value)
    result = dict(pairs)
    if len(result) != len(pairs):
        keys = [k for k, _ in pairs]
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        raise Undecodable(f"repeated keys {repeated}")
    return result


def _utf8_items(values: list[Any]) -> None:
    for item in values:
        if isinstance(item, str):
            _utf8(item)
        elif isinstance(item, list):
            _utf8_items(item)


def _no_constants(name: str) -> Any:
    raise Undecodable(f"{name} is not JSON")


def _cbor(payload: bytes) -> Any:
    stream = io.BytesIO(payload)
    try:
        value = cbor2.CBORDecoder(stream).decode()
    except (cbor2.CBORError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise Undecodable(f"invalid CBOR: {exc}") from exc
    if stream.tell() != len(payload):
        raise Undecodable(f"{len(payload) - stream.tell()} bytes after the CBOR map")
    _only_json_types(value)
    return value


def _only_json_types(value: Any) -> None:
    # "The same object in CBOR": what JSON could not say (bytes, tags, undefined) is refused.
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if not all(isinstance(k, str) for k in item):
                raise Undecodable("a CBOR map key is not a text string")
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif item is not None and not isinstance(item, bool | int | float | str):
            raise Undecodable(f"CBOR item of type {type(item).__name__} has no JSON equivalent")
