"""The shapes of the registry's ids, written once for the code (the database's CHECK constraints
and the protocol's JSON Schemas hold the same patterns; a test keeps them equal)."""

from __future__ import annotations

import re
from typing import Final

from stayactive.errors import ConfigurationError

#: A device id (also its broker account name and the id in its topics). Unanchored, so that
#: it can be part of a larger pattern such as the topic's.
DEVICE_ID_PATTERN: Final = r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"
#: A tenant id: lower case, as it appears in URLs and file names.
TENANT_ID_PATTERN: Final = r"[a-z0-9][a-z0-9-]{1,62}"
#: A resident's pseudonym (never a name or a national identity number).
PSEUDONYM_PATTERN: Final = r"[A-Za-z0-9_-]{4,64}"

#: What a name people read (a tenant's, a site's, a ward's, a serial) must not hold: a control
#: character such as a line break, a tab or NUL breaks every list and report line that prints it.
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: The error of such a name, for every interface that takes one.
NAME_CONTROL_CHARACTER: Final = "must not hold a control character (a line break, a tab)"

_DEVICE_ID: Final = re.compile(DEVICE_ID_PATTERN)
_TENANT_ID: Final = re.compile(TENANT_ID_PATTERN)
_PSEUDONYM: Final = re.compile(PSEUDONYM_PATTERN)


def is_device_id(text: str) -> bool:
    """True when ``text`` is a valid device id."""
    return _DEVICE_ID.fullmatch(text) is not None


def is_tenant_id(text: str) -> bool:
    """True when ``text`` is a valid tenant id."""
    return _TENANT_ID.fullmatch(text) is not None


def is_pseudonym(text: str) -> bool:
    """True when ``text`` is a valid resident pseudonym."""
    return _PSEUDONYM.fullmatch(text) is not None


def is_plain_name(text: str) -> bool:
    """True when ``text`` holds no control character (:data:`NAME_CONTROL_CHARACTER`)."""
    return _CONTROL.search(text) is None


def check_tenant_id(tenant_id: str) -> str:
    """``tenant_id`` if it is valid, else :class:`ConfigurationError` saying what it must be."""
    if not is_tenant_id(tenant_id):
        raise ConfigurationError(
            f"tenant id {tenant_id!r} must be 2-63 lower-case letters, digits or '-'"
        )
    return tenant_id
