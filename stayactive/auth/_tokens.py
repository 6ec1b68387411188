"""Short-lived signed access tokens (JWT, HS256) that name a server-side session.

The token says who (``sub`` = user id), in which tenant (``tid``) and which session (``sid``);
its signature proves we issued it and ``exp`` bounds its life. It is never the only check: every
request also looks the session up (:mod:`stayactive.auth._store`), which is what makes a
logout or a disabled account take effect at once. ``kid`` names the key that signed it
(:mod:`stayactive.auth._keys`): after a rotation, tokens of the previous key are accepted
until they expire, then that key is gone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from stayactive.auth._keys import KeyRing, SigningKey, UnknownKey

ALGORITHM = "HS256"
ISSUER = "stayactive"


class InvalidToken(Exception):
    """The token is malformed, not ours, or expired; the message says which, for the log."""


@dataclass(frozen=True)
class TokenClaims:
    """What a valid token says."""

    user_id: int
    tenant_id: str
    session_id: uuid.UUID
    expires_at: datetime


def issue_token(
    key: SigningKey, *, user_id: int, tenant_id: str, session_id: uuid.UUID, ttl_s: int
) -> tuple[str, datetime]:
    """A signed token for the session and its expiry time."""
    now = datetime.now(UTC)
    expires = now + timedelta(seconds=ttl_s)
    claims = {
        "iss": ISSUER,
        "sub": str(user_id),
        "tid": tenant_id,
        "sid": str(session_id),
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
    }
    token = jwt.encode(claims, key.secret, algorithm=ALGORITHM, headers={"kid": key.kid})
    return token, expires


def decode_token(keys: KeyRing, token: str) -> TokenClaims:
    """Check the signature (with the key its ``kid`` names), issuer and expiry of ``token``;
    raise :class:`InvalidToken`."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        if not isinstance(kid, str):
            raise InvalidToken("the token names no signing key")
        claims = jwt.decode(
            token,
            keys.verifying(kid).secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "sid", "tid", "iss"]},
        )
        return TokenClaims(
            user_id=int(claims["sub"]),
            tenant_id=str(claims["tid"]),
            session_id=uuid.UUID(str(claims["sid"])),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("the token has expired") from exc
    except UnknownKey as exc:
        raise InvalidToken(str(exc)) from exc
    except (jwt.PyJWTError, ValueError, KeyError) as exc:
        raise InvalidToken(f"the token is not valid: {type(exc).__name__}") from exc
