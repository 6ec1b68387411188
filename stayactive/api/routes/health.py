"""``/healthz`` (no auth) and ``/metrics`` (Prometheus text format)."""

from __future__ import annotations

from typing import Literal

import psycopg
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from stayactive.api.deps import api_state

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "unavailable"]


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
async def healthz(request: Request, response: Response) -> Health:
    """Liveness and readiness: the service runs and its database answers."""
    state = api_state(request)
    try:
        async with state.pool.connection(timeout=2) as conn:
            await conn.execute("SELECT 1")
    except (psycopg.Error, Exception):
        response.status_code = 503
        return Health(status="degraded", database="unavailable")
    return Health(status="ok", database="ok")


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    """Request counts and latencies per route, audit rows written, logins by outcome."""
    state = api_state(request)
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
