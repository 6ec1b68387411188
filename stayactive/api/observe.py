"""Request metrics: counts and latency per route template (never per id: no personal data)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from stayactive.api.deps import route_template


def install(app: FastAPI) -> None:
    """Count every request by method, route template and status, and time it."""

    @app.middleware("http")
    async def _observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        state = getattr(request.app.state, "api", None)
        if state is not None:
            route = route_template(request)
            state.metrics.requests.labels(request.method, route, str(response.status_code)).inc()
            state.metrics.latency.labels(request.method, route).observe(
                time.perf_counter() - started
            )
        return response
