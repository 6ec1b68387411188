"""Encoding messages to bytes (compact JSON or CBOR) and decoding them back."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping
from typing import Any

import cbor2

from firmware_sim.protocol._common import (
    _JSON_WHITESPACE,
    CONTENT_TYPES,
    Encoding,
    Message,
    ProtocolError,
)


def encode(msg: Mapping[str, Any], encoding: Encoding = "json") -> bytes:
    """Encode a message as compact UTF-8 JSON or as CBOR.

    The output is deterministic (JSON keeps the dict's order, CBOR uses canonical form), so a
    message kept in the offline buffer as a dict re-encodes to the same bytes. The size limit is
    not checked here: compare ``len(payload)`` with :data:`MAX_PAYLOAD_BYTES` before sending,
    and split an upload into several messages if it does not fit.

    Raises
    ------
    ValueError
        If the message holds NaN or infinity, which JSON cannot carry and the protocol forbids.
    """
    if encoding == "json":
        text = json.dumps(msg, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        return text.encode("utf-8")
    if encoding == "cbor":
        _reject_non_finite(msg)
        # canonical=True: shortest float that keeps the value exactly (0.0 takes 3 bytes, not 9)
        # and a fixed key order.
        return bytes(cbor2.dumps(msg, canonical=True))
    raise ValueError(f"unknown encoding {encoding!r}")


def _reject_non_finite(value: Any) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"non-finite number {value!r} cannot be sent")
    if isinstance(value, Mapping):
        for item in value.values():
            _reject_non_finite(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _reject_non_finite(item)


def detect_encoding(payload: bytes, content_type: str | None = None) -> Encoding:
    """Tell JSON from CBOR as the protocol prescribes.

    1. An MQTT 5 content type, when present, decides (``application/json`` or
       ``application/cbor``; parameters such as ``; charset=utf-8`` are ignored).
    2. Otherwise the first byte: ``{`` after optional JSON whitespace is JSON; a CBOR map head
       (0xA0..0xBF) is CBOR.

    Raises
    ------
    ProtocolError
        For any other content type or first byte (reject reason ``undecodable``).
    """
    if content_type is not None:
        media_type = content_type.split(";", 1)[0].strip().lower()
        for encoding, known in CONTENT_TYPES.items():
            if media_type == known:
                return encoding
        raise ProtocolError(f"unsupported content type {content_type!r}")
    if payload.lstrip(_JSON_WHITESPACE)[:1] == b"{":
        return "json"
    if payload and 0xA0 <= payload[0] <= 0xBF:
        return "cbor"
    raise ProtocolError("payload is neither a JSON object nor a CBOR map")


def decode(payload: bytes, content_type: str | None = None) -> Message:
    """Decode a payload into a message dict, strictly.

    Besides syntax errors, these are undecodable: invalid UTF-8, a top level that is not an
    object, repeated keys in JSON, ``NaN``/``Infinity`` literals in JSON, a JSON string escape of
    an unpaired surrogate (``"\\ud800"``: no UTF-8 text), bytes after the CBOR item, and CBOR
    items with no JSON equivalent (byte strings, tags, undefined, non-text keys).
    CBOR NaN or infinite floats decode; the backend rejects them as ``value_out_of_range``.

    Raises
    ------
    ProtocolError
        If the payload cannot be decoded (reject reason ``undecodable``).
    """
    encoding = detect_encoding(payload, content_type)
    value: Any
    if encoding == "json":
        try:
            value = json.loads(
                payload.decode("utf-8"),
                object_pairs_hook=_object_without_repeats,
                parse_constant=_no_constant,
            )
        except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError too
            raise ProtocolError(f"invalid JSON: {exc}") from exc
    else:
        stream = io.BytesIO(payload)
        try:
            value = cbor2.CBORDecoder(stream).decode()
        except (cbor2.CBORError, ValueError, TypeError, OverflowError, RecursionError) as exc:
            raise ProtocolError(f"invalid CBOR: {exc}") from exc
        if stream.tell() != len(payload):
            raise ProtocolError("bytes after the CBOR item")
        _require_json_model(value)
    if not isinstance(value, dict):
        raise ProtocolError("the top level is not an object")
    if encoding == "json":
        _require_utf8(value)
    return value


def _require_utf8(value: Any) -> None:
    # JSON may escape an unpaired surrogate; such a string is no Unicode text and cannot be sent
    # on or stored, so the message is undecodable.
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and not item.isascii():
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ProtocolError(f"unpaired surrogate in {item[:40]!r}") from exc


def _object_without_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # A repeated key would make two decoders disagree on the message; refuse it outright.
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise ProtocolError(f"repeated key {key!r}")
        obj[key] = value
    return obj


def _no_constant(name: str) -> Any:
    raise ProtocolError(f"{name} is not valid JSON")


def _require_json_model(value: Any) -> None:
    # "The same object in CBOR": only what JSON could have said, so both encodings validate
    # against one schema and store identically.
    if value is None or isinstance(value, bool | int | float | str):
        return
    if isinstance(value, list):
        for item in value:
            _require_json_model(item)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ProtocolError(f"CBOR map key {key!r} is not a text string")
            _require_json_model(item)
        return
    raise ProtocolError(f"CBOR item of type {type(value).__name__} has no JSON equivalent")
