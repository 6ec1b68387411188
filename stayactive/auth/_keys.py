"""The keys that sign access tokens, each with an id (the token's ``kid``), and their rotation.

A rotation makes a new key the one that signs; the key it replaces keeps verifying the tokens
it signed until they have expired (``retired_at`` + the longest token life), then it is dropped.
So a rotation logs nobody out, and a stolen key is useless once its last token has expired.

Where the keys come from:

* the secrets folder, ``api_jwt_keys.json`` (0600, like every secret; written here only). A
  single key of an older installation (``api_jwt_key``) becomes the key ``k1``;
* or the settings: ``STAYACTIVE_API_JWT_KEY`` signs and ``STAYACTIVE_API_JWT_PREVIOUS_KEY`` (if
  set) still verifies, for deployments whose secrets live in a vault; their ids are derived
  from the keys (a SHA-256 prefix), so no key is ever written into a token.

A running API re-reads the file when it changes, so ``stayactive api rotate-key`` takes effect
without a restart.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from stayactive.errors import ConfigurationError
from stayactive.paths import (
    API_JWT_KEY,
    SecretFileExposed,
    ServicePaths,
    check_secret_file,
    write_private,
)
from stayactive.settings import Settings

KEYS_FILE = "api_jwt_keys.json"
#: A retired key is kept this much longer than the longest token life, for clock skew.
GRACE = timedelta(minutes=5)


class UnknownKey(Exception):
    """A token names a key we do not have (never ours, or retired long enough to be gone)."""


@dataclass(frozen=True)
class SigningKey:
    """One key: ``kid`` goes into the token header, ``secret`` never leaves the server."""

    kid: str
    secret: str
    created_at: datetime
    retired_at: datetime | None = None

    def __repr__(self) -> str:  # the secret must not reach a log through a repr
        return f"SigningKey(kid={self.kid!r}, created_at={self.created_at.isoformat()})"


def derived_kid(secret: str) -> str:
    """A key id for a key given in the settings: not the key, not reversible."""
    return "s-" + hashlib.sha256(secret.encode()).hexdigest()[:12]


#: The most of a token's unknown ``kid`` an error repeats.
_KID_SHOWN: Final = 32


class KeyRing:
    """The current signing key and the retired ones that still verify."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._keys: list[SigningKey] = []
        self._load()

    @property
    def _path(self) -> Path:
        return ServicePaths(self._settings.data_dir).secrets_dir / KEYS_FILE

    def _load(self) -> None:
        s = self._settings
        if s.api_jwt_key is not None:
            now = datetime.now(UTC)
            keys = [SigningKey(derived_kid(s.api_jwt_key.get_secret_value()),
                               s.api_jwt_key.get_secret_value(), now)]  # fmt: skip
            if s.api_jwt_previous_key is not None:
                old = s.api_jwt_previous_key.get_secret_value()
                keys.append(SigningKey(derived_kid(old), old, now, retired_at=now))
            self._keys = keys
            return
        path = self._path
        if not path.exists():
            _write(path, [_legacy_or_new(self._settings)])
        try:
            check_secret_file(path)
        except SecretFileExposed as exc:
            raise ConfigurationError(str(exc)) from exc
        self._mtime = path.stat().st_mtime
        self._keys = _read(path)

    def _refresh(self) -> None:
        # Another process (`stayactive api rotate-key`) may have rotated the keys.
        if self._settings.api_jwt_key is not None:
            return
        try:
            mtime = self._path.stat().st_mtime
        except FileNotFoundError:
            return
        if mtime != self._mtime:
            with self._lock:
                self._load()

    def current(self) -> SigningKey:
        """The key that signs new tokens."""
        self._refresh()
        return next(k for k in self._keys if k.retired_at is None)

    def verifying(self, kid: str) -> SigningKey:
        """The key named ``kid``, if it still verifies (:class:`UnknownKey` otherwise)."""
        self._refresh()
        oldest = datetime.now(UTC) - timedelta(seconds=self._settings.api_token_ttl_s) - GRACE
        for k in self._keys:
            if k.kid == kid and (k.retired_at is None or k.retired_at >= oldest):
                return k
        # The kid comes from whoever sent the token: a real one is short, anything else is cut.
        shown = kid if len(kid) <= _KID_SHOWN else kid[:_KID_SHOWN] + "…"
        raise UnknownKey(f"the token names a signing key that is not in use ({shown!r})")

    def kids(self) -> list[str]:
        """The ids of the keys that verify, the signing one first."""
        self._refresh()
        return [k.kid for k in sorted(self._keys, key=lambda k: k.retired_at is not None)]


def _legacy_or_new(settings: Settings) -> SigningKey:
    paths = ServicePaths(settings.data_dir)
    legacy = paths.secret(API_JWT_KEY)
    if legacy is not None:
        return SigningKey("k1", legacy, datetime.now(UTC))
    return SigningKey(_new_kid(), secrets.token_urlsafe(48), datetime.now(UTC))


def _new_kid() -> str:
    return datetime.now(UTC).strftime("k%Y%m%dT%H%M%S-") + secrets.token_hex(3)


def _read(path: Path) -> list[SigningKey]:
    data = json.loads(path.read_text())
    return [
        SigningKey(
            kid=str(k["kid"]),
            secret=str(k["secret"]),
            created_at=datetime.fromisoformat(k["created_at"]),
            retired_at=datetime.fromisoformat(k["retired_at"]) if k.get("retired_at") else None,
        )
        for k in data["keys"]
    ]


def _write(path: Path, keys: list[SigningKey]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    document = {
        "keys": [
            {
                "kid": k.kid,
                "secret": k.secret,
                "created_at": k.created_at.isoformat(),
                "retired_at": k.retired_at.isoformat() if k.retired_at else None,
            }
            for k in keys
        ]
    }
    write_private(path, json.dumps(document, indent=1))


@dataclass(frozen=True)
class Rotation:
    """What a rotation did: the new key's id, the one it retired, the ones dropped."""

    new_kid: str
    retired_kid: str | None
    dropped: tuple[str, ...]


def rotate(settings: Settings, *, now: datetime | None = None) -> Rotation:
    """Make a new key the signing one; retire the current one; drop keys retired longer ago
    than the longest token life (plus :data:`GRACE`). Only for keys in the secrets folder."""
    if settings.api_jwt_key is not None:
        raise ConfigurationError(
            "the signing key comes from STAYACTIVE_API_JWT_KEY: rotate it where it is kept "
            "(set the old one as STAYACTIVE_API_JWT_PREVIOUS_KEY until its tokens expire)"
        )
    now = now or datetime.now(UTC)
    ring = KeyRing(settings)  # creates the file if there is none
    keep_after = now - timedelta(seconds=settings.api_token_ttl_s) - GRACE
    keys = list(ring._keys)
    retired = None
    out: list[SigningKey] = []
    dropped: list[str] = []
    for k in keys:
        if k.retired_at is None:
            retired = k.kid
            out.append(SigningKey(k.kid, k.secret, k.created_at, retired_at=now))
        elif k.retired_at < keep_after:
            dropped.append(k.kid)
        else:
            out.append(k)
    new = SigningKey(_new_kid(), secrets.token_urlsafe(48), now)
    _write(ring._path, [new, *out])
    return Rotation(new.kid, retired, tuple(dropped))
