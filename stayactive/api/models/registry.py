"""Wards, devices, residents and assignments."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field, Strict, StringConstraints

from stayactive.api.models.common import NoNationalId, PlainName
from stayactive.api.models.consents import ConsentSummary

Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    PlainName,
    NoNationalId,
]
DeviceId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
#: A resident's pseudonym; 11 digits that are a national identity number are refused like free
#: text (422 national-id-refused naming the field, the detail in bokmål and English).
Pseudonym = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{4,64}$"), NoNationalId]
#: An id in a request body: an integer (not a boolean or a numeric string).
BodyId = Annotated[int, Strict(), Field(ge=1, le=2**63 - 1)]


class AlertSettingsPublic(BaseModel):
    not_up_by: str = Field(
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="Local time HH:MM; 'not up' is raised after it.",
    )
    battery_low_pct: Annotated[float, Strict(), Field(ge=0, le=100)]
    offline_after_min: Annotated[int, Strict(), Field(ge=5, le=1440)]


class WardCreate(BaseModel):
    site: Name
    name: Name
    go_live_on: dt.date | None = Field(
        default=None,
        description="The day devices came into use (2000-01-01 to a year ahead); null for "
        "comparison wards.",
    )


class WardPublic(BaseModel):
    ward_id: int
    site: str
    name: str
    go_live_on: dt.date | None
    alert_settings: AlertSettingsPublic


class DeviceCreate(BaseModel):
    device_id: DeviceId
    kind: Literal["walker", "robot"]
    serial: Name
    ward_id: BodyId | None = None


class AssignmentBrief(BaseModel):
    assignment_id: int
    resident_id: int
    pseudonym: str
    valid_from: dt.datetime
    valid_to: dt.datetime | None


class DevicePublic(BaseModel):
    device_id: str
    kind: Literal["walker", "robot"]
    serial: str
    ward_id: int | None
    firmware: str | None = Field(
        description="The firmware given when the device was registered, if any; what the "
        "device runs now is in its status (`firmware` of /devices/{id}/status and /fleet)."
    )
    active: bool
    created_at: dt.datetime


class BrokerAddress(BaseModel):
    """Where the device connects (``STAYACTIVE_DEVICE_BROKER_URL``, docs/operations.md)."""

    host: str
    port: int
    tls: bool = Field(description="Connect with TLS (mqtts), checking the broker's certificate.")


class DeviceCredentials(BaseModel):
    """A device's new password: shown once, kept nowhere but in the broker's hash."""

    device_id: str
    username: str
    password: str
    broker: BrokerAddress


class DeviceStatus(BaseModel):
    """A device's latest status and the last day's traffic."""

    device: DevicePublic
    state: str | None
    last_seen_at: dt.datetime | None = Field(
        description="When the backend last received a message of any kind from the device."
    )
    status_at: dt.datetime | None = Field(
        description="When the newest status was made, by the device's clock: older than "
        "`last_seen_at` by much while the device uploads a backlog."
    )
    battery_pct: float | None
    charging: bool | None
    firmware: str | None = Field(description="The firmware the device reported last.")
    rssi_dbm: float | None
    buffered_n: int | None = Field(
        description="Messages the device still holds to upload, as its newest status said."
    )
    clock_suspect: bool | None
    frames_24h: int
    rejects_24h: int
    assignment: AssignmentBrief | None


class ResidentCreate(BaseModel):
    pseudonym: Pseudonym = Field(description="Never a name or a national identity number.")
    birth_year: Annotated[int, Strict(), Field(ge=1900, le=2100)] | None = None
    sex: Literal["female", "male", "other", "unknown"] = "unknown"


class ResidentPublic(BaseModel):
    resident_id: int
    pseudonym: str
    birth_year: int | None
    sex: str
    ward_ids: list[int] = Field(description="Wards of the resident's stays.")
    current_stay_id: int | None
    consent: ConsentSummary = Field(description="Each purpose's consent now.")


class AssignmentCreate(BaseModel):
    device_id: DeviceId
    resident_id: BodyId
    valid_from: AwareDatetime = Field(description="With a UTC offset.")
    valid_to: AwareDatetime | None = None


class AssignmentPublic(BaseModel):
    assignment_id: int
    device_id: str
    resident_id: int
    pseudonym: str
    valid_from: dt.datetime
    valid_to: dt.datetime | None


class FleetTraffic(BaseModel):
    """Messages and rejects of one device (stayactive/api/fleet_traffic.py says how counted)."""

    messages_1h: int = Field(description="Messages the device sent in the last hour.")
    messages_24h: int = Field(description="Messages the device sent in the last 24 hours.")
    rejects_1h: int = Field(description="Messages of the device rejected in the last hour.")
    rejects_24h: int = Field(description="Messages of the device rejected in the last 24 hours.")
    reject_share_24h: float | None = Field(
        description="Rejects / (messages + rejects) over 24 hours; null when nothing came."
    )


class FleetDevice(BaseModel):
    device_id: str
    kind: Literal["walker", "robot"]
    ward_id: int | None
    active: bool
    state: str | None
    battery_pct: float | None
    charging: bool | None
    firmware: str | None = Field(description="The firmware the device reported last.")
    last_seen_at: dt.datetime | None
    clock_suspect: bool | None
    problems: list[str] = Field(description="offline, battery_low, clock_suspect, never_seen.")
    assignment: AssignmentBrief | None
    traffic: FleetTraffic
