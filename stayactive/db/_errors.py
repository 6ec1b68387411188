"""The one place that classifies database errors and translates them into ours.

psycopg raises one exception class per SQLSTATE. What a caller should do depends on far fewer
cases, so callers never catch a bare ``psycopg.Error``; they ask :func:`is_transient` or wrap
their work in :func:`translated` and catch our errors:

=====================================================  =====================================
psycopg error                                          ours (what the caller does)
=====================================================  =====================================
no SQLSTATE (connection refused, lost or closed),      :class:`StorageUnavailable`: retry
class 08 (connection), 57P01-57P03 (server shutting    later; the work so far was rolled back
down or starting), class 53 (out of resources), 55P03
(lock timeout), 57014 (query cancelled), class 58
(I/O), 40001 and 40P01 (serialization failure,
deadlock), a pool timeout
class 23 (unique, foreign key, check, not-null,        :class:`ConstraintViolation`: reject
exclusion)                                             this input; the others may go on
class 22 (a value the column cannot take), and a       :class:`RejectedInput` (``invalid_value``)
value psycopg itself cannot send (a NUL character)
class 28 (login refused)                               :class:`ConfigurationError`: stop
anything else (bad SQL, a missing table, privileges)   passes through unchanged: it is a bug or
                                                       a broken deployment, not the input
=====================================================  =====================================
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import psycopg

from stayactive.errors import (
    ConfigurationError,
    ConstraintKind,
    ConstraintViolation,
    RejectedInput,
    StayActiveError,
    StorageUnavailable,
)

# SQLSTATE classes and codes after which the same work may succeed if tried again.
_TRANSIENT_CLASSES: Final = frozenset({"08", "53", "58"})
_TRANSIENT_CODES: Final = frozenset({"57P01", "57P02", "57P03", "57014", "55P03", "40001", "40P01"})
_CONSTRAINT_KINDS: Final[dict[str, ConstraintKind]] = {
    "23505": "unique",
    "23503": "foreign_key",
    "23514": "check",
    "23502": "not_null",
    "23P01": "exclusion",
    "23001": "restrict",
}


def is_transient(exc: BaseException) -> bool:
    """True when the database was unavailable rather than the work wrong: retrying may succeed.

    Our own :class:`StorageUnavailable` counts as transient too, so a caller can hand over
    whatever it caught.
    """
    if isinstance(exc, StorageUnavailable):
        return True
    if not isinstance(exc, psycopg.Error):
        return False
    state = exc.sqlstate
    if state is None:
        # Raised by the client, not the server: the connection failed, broke or was closed.
        return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)
    return state[:2] in _TRANSIENT_CLASSES or state in _TRANSIENT_CODES


def translate(exc: psycopg.Error) -> StayActiveError | None:
    """Our error for ``exc`` (see the table above), or None when it should pass unchanged."""
    message = _message(exc)
    if is_transient(exc):
        return StorageUnavailable(f"the database is unavailable: {message}")
    state = exc.sqlstate or ""
    if state.startswith("23"):
        diag = exc.diag
        return ConstraintViolation(
            _CONSTRAINT_KINDS.get(state, "other"),
            message,
            constraint=diag.constraint_name or "",
            table=diag.table_name or "",
        )
    if state.startswith("22") or (not state and isinstance(exc, psycopg.DataError)):
        return RejectedInput("invalid_value", message)
    if state.startswith("28"):
        return ConfigurationError(f"the database refused the login: {message}")
    return None


@contextmanager
def translated() -> Iterator[None]:
    """Raise our error (from psycopg's) for whatever the block raises; see :func:`translate`."""
    try:
        yield
    except psycopg.Error as exc:
        ours = translate(exc)
        if ours is None:
            raise
        raise ours from exc


def _message(exc: psycopg.Error) -> str:
    primary = exc.diag.message_primary if exc.sqlstate else None
    return (primary or str(exc)).strip()
