"""Logging in and who I am."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from stayactive.auth import Role


class TokenPublic(BaseModel):
    """An access token (OAuth2 bearer)."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the token expires.")


class WardBrief(BaseModel):
    ward_id: int
    name: str
    site: str


class MePublic(BaseModel):
    """The caller: user (or API key), role, tenant, wards in scope."""

    username: str
    role: Role
    tenant_id: str
    tenant_name: str
    time_zone: str
    wards: list[WardBrief]
    session_expires_at: datetime | None = Field(
        default=None, description="When the login's session ends (tokens refresh until then)."
    )
