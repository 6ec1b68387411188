"""Short-lived signed access tokens (JWT, HS256) that name a server-side session.

The token says who (``sub`` = user id), in which tenant (``tid``) and which session (``sid``);
its signature proves we issued it and ``exp`` bounds its life. It is never the only check: every
request also looks the session up (:mod:`stayactive.auth._sessions`), which is what makes a
logout or a disabled account take effect at once. ``kid`` names the key, so that a later key
rotation can accept tokens of the previous key until they expire.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

ALGORITHM = "HS256"
ISSUER = "stayactive"
KEY_ID = "k1"


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
    key: str, *, user_id: int, tenant_id: str, session_id: uuid.UUID, ttl_s: int
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
    token = jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": KEY_ID})
    return token, expires


def decode_token(key: str, token: str) -> TokenClaims:
    """Check the signature, issuer and expiry of ``token``; raise :class:`InvalidToken`."""
    try:
        claims = jwt.decode(
            token,
            key,
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
    except (jwt.PyJWTError, ValueError, KeyError) as exc:
        raise InvalidToken(f"the token is not valid: {type(exc).__name__}") from exc
