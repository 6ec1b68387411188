"""Password hashing with argon2id, and a verify that takes as long for unknown users.

``argon2-cffi``'s defaults are RFC 9106's second recommended profile (argon2id, 64 MiB, t=3, p=4),
about 50 ms on this machine: slow enough to make guessing a leaked hash expensive, fast enough
for a login. Hashing blocks, so async callers run it in a worker thread.
"""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256


@functools.cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    # A hash of a password nobody knows, verified for unknown users so that the time a failed
    # login takes does not tell whether the account exists.
    return _hasher().hash(secrets.token_urlsafe(32))


def check_password_rules(password: str) -> None:
    """Raise ValueError if ``password`` is too short or too long (NIST SP 800-63B: length,
    not composition rules), or not text that can be hashed (undecodable bytes read from a
    terminal or pipe arrive as lone surrogates, which have no UTF-8 form)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"a password has at most {MAX_PASSWORD_LENGTH} characters")
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("a password must be UTF-8 text") from None


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (checked against the rules first)."""
    check_password_rules(password)
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if ``password`` matches ``password_hash``; with None, verify against a dummy hash
    (same cost) and return False."""
    try:
        ok = _hasher().verify(password_hash or _dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return bool(ok) and password_hash is not None


def warm_up() -> None:
    """Compute the dummy hash now (the service calls this at start, not on the first login)."""
    _dummy_hash()
