"""Reject reason codes: the contract with devices (docs/protocol.md, "Rejects")."""

from __future__ import annotations

from typing import Final

#: Codes of the checks a device's message goes through, in the order the backend checks them;
#: a message is rejected with the first that fails. ``key_conflict`` is found when storing.
CHECKED: Final = (
    "payload_too_large",
    "undecodable",
    "unsupported_version",
    "topic_mismatch",
    "wrong_channel",
    "unknown_device",
    "inactive_device",
    "wrong_device_kind",
    "schema_invalid",
    "array_length_mismatch",
    "value_out_of_range",
    "value_not_storable",
    "timestamp_in_future",
    "timestamp_too_old",
    "key_conflict",
)
#: Codes that point at the backend or the broker rather than at a device.
BACKEND: Final = ("bad_topic", "storage_error", "internal_error")
#: Every code a reject can carry.
ALL: Final = CHECKED + BACKEND
