"""Keep secrets out of the access log: uvicorn logs each request line with its query string.

A client that puts a credential in the URL (``/me?api_key=sa_…``, ``?access_token=…``) is
answered 401 as it should be, but uvicorn's access log would keep the secret in clear. A filter
on the ``uvicorn.access`` logger replaces the value of every parameter named like a secret,
of every value that is one of our API keys or a signed token, and of every value holding a
national identity number, with ``[redacted]``, before any handler sees the record. Installed by
:func:`stayactive.api.create_app`, so every way of serving the API has it.
"""

from __future__ import annotations

import logging
from typing import Final
from urllib.parse import parse_qsl, quote

from stayactive.auth import API_KEY_PREFIX
from stayactive.records import looks_like_national_id

ACCESS_LOGGER: Final = "uvicorn.access"
REDACTED: Final = "[redacted]"

#: Query parameters whose value is a secret, whatever it looks like (lower case, ``-`` as ``_``).
SECRET_PARAMS: Final = frozenset(
    {
        "api_key", "apikey", "x_api_key", "key", "token", "access_token", "refresh_token",
        "id_token", "password", "passwd", "secret", "client_secret", "authorization",
    }
)  # fmt: skip

# uvicorn's access record: (client, method, path with query, HTTP version, status).
_PATH_ARG: Final = 2


def _secret(name: str, value: str) -> bool:
    if name.lower().replace("-", "_") in SECRET_PARAMS:
        return True
    # An API key or a JWT under any name, and a national identity number (never logged).
    return (
        value.startswith(API_KEY_PREFIX) or value.startswith("eyJ") or looks_like_national_id(value)
    )


def redact_target(target: str) -> str:
    """The request target with secret query values replaced by ``[redacted]``."""
    path, sep, query = target.partition("?")
    if not sep:
        return target
    pairs = parse_qsl(query, keep_blank_values=True)
    if not pairs and query:
        return f"{path}?{REDACTED}"  # nothing parseable: keep none of it
    kept = [
        f"{quote(name, safe='')}={REDACTED if _secret(name, value) else quote(value, safe='')}"
        for name, value in pairs
    ]
    return f"{path}?{'&'.join(kept)}"


class RedactQuery(logging.Filter):
    """Rewrites the request target of uvicorn's access records (see the module)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) > _PATH_ARG and isinstance(args[_PATH_ARG], str):
            record.args = (
                *args[:_PATH_ARG],
                redact_target(args[_PATH_ARG]),
                *args[_PATH_ARG + 1 :],
            )
        return True


def install() -> None:
    """Put :class:`RedactQuery` on the access logger (once per process)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, RedactQuery) for f in logger.filters):
        logger.addFilter(RedactQuery())
