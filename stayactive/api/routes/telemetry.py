"""``POST /telemetry``: device messages over HTTP, for devices without MQTT.

The device authenticates with HTTP Basic (its device id and the same password as on the broker)
and sends one protocol message as the body (``application/json`` or ``application/cbor``) for
the channel named in the query. It goes through ``ingest.direct``: the same validation, the
same write, the same reject reasons as MQTT; the answer comes after the commit.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

import psycopg
from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from psycopg.rows import TupleRow
from pydantic import BaseModel

from ingest import (
    Accepted,
    DeviceRegistry,
    Reject,
    RobotEvent,
    Status,
    WalkerTelemetry,
    ingest_one,
)
from stayactive import auth
from stayactive.api.deps import ConnDep, StateDep, media_type
from stayactive.api.problems import ApiProblem, problem_responses

router = APIRouter(tags=["telemetry"], responses=problem_responses(401, 413, 415, 422, 503))

_TYPES = {WalkerTelemetry: "walker.telemetry", RobotEvent: "robot.event", Status: "status"}
device_basic = HTTPBasic(auto_error=False, description="Device id and its password.")
_BASIC = {"WWW-Authenticate": 'Basic realm="stayactive devices"'}


class TelemetryAccepted(BaseModel):
    """The message was stored (or was a duplicate of one stored before)."""

    accepted: Literal[True] = True
    type: str


@router.post(
    "/telemetry",
    response_model=TelemetryAccepted,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/cbor": {"schema": {"type": "string", "format": "binary"}},
            },
        },
    },
)
async def telemetry(
    request: Request,
    conn: ConnDep,
    state: StateDep,
    credentials: Annotated[HTTPBasicCredentials | None, Depends(device_basic)],
    channel: Annotated[
        Literal["telemetry", "events", "status"],
        Query(description="The MQTT channel it stands for."),
    ] = "telemetry",
) -> TelemetryAccepted:
    """Store one device message (docs/protocol.md) as if it came over MQTT. A message that
    fails validation is kept as a reject and answered with 422 and its reason."""
    if credentials is None or not credentials.username:
        raise ApiProblem(
            401, "device-auth", "send HTTP Basic with the device id and password", headers=_BASIC
        )
    device_id, password = credentials.username, credentials.password
    tenant = await auth.device_secret_matches(conn, device_id, password)
    if tenant is None:
        raise ApiProblem(
            401, "device-auth", "unknown device, wrong password, or deactivated", headers=_BASIC
        )
    media = media_type(request)
    if media not in ("application/json", "application/cbor"):
        raise ApiProblem(415, "unsupported-media-type", "send application/json or application/cbor")
    payload = await request.body()
    topic = f"stayactive/v1/{device_id}/{channel}"
    retention = timedelta(days=state.settings.raw_retention_days)

    def work(sync: psycopg.Connection[TupleRow]) -> Accepted | Reject:
        lookup = DeviceRegistry(lambda: sync, ttl_s=0.0)
        return ingest_one(
            sync, lookup.lookup, topic, payload, content_type=media, retention=retention
        )

    # Stored as the ingest role, like MQTT messages; the device named the tenant.
    outcome = await state.ingest_in_thread(work)
    if isinstance(outcome, Reject):
        raise ApiProblem(
            422,
            outcome.reason.replace("_", "-"),
            f"rejected ({outcome.reason}): {outcome.detail}; the message was kept for inspection",
            extra={"reason": outcome.reason},
        )
    return TelemetryAccepted(type=_TYPES[type(outcome)])
