"""The FastAPI app: middleware, error handlers, and the routers. Built by :func:`create_app`
(``uvicorn --factory``), never at import time, so tests build apps with their own settings."""

from __future__ import annotations

from fastapi import Depends, FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from stayactive.api import access_log, denied, observe, problems, routes
from stayactive.api.deps import body_media_type
from stayactive.api.headers import SecurityHeaders
from stayactive.api.limits import DEFAULT_LIMIT_BYTES, TELEMETRY_LIMIT_BYTES, BodyLimit
from stayactive.api.paths import API_PREFIX
from stayactive.api.state import lifespan
from stayactive.settings import Settings, get_settings

API_VERSION = "1.0.0"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The StayActive API for ``settings`` (default: the process's settings)."""
    settings = settings or get_settings()
    app = FastAPI(
        title="StayActive API",
        version=API_VERSION,
        description="The one door for care staff, finance and integrators: see docs/api.md.",
        lifespan=lifespan(settings),
        openapi_url=f"{API_PREFIX}/openapi.json",
        # Swagger UI pulls its scripts from a CDN without integrity checks: only on request.
        docs_url=f"{API_PREFIX}/docs" if settings.api_docs_ui else None,
        redoc_url=None,
    )
    problems.install(app)
    denied.install(app)
    observe.install(app)
    access_log.install()
    app.add_middleware(
        BodyLimit,
        limits=[
            (f"{API_PREFIX}/imports", settings.api_max_body_bytes),
            (f"{API_PREFIX}/telemetry", TELEMETRY_LIMIT_BYTES),
        ],
        default_bytes=DEFAULT_LIMIT_BYTES,
    )
    # Outermost, so the body limit's 413 and every problem answer carry them too.
    app.add_middleware(SecurityHeaders)
    if settings.api_trusted_proxies.strip():
        # Outermost of all: the routes, the login throttle and the access log see the client
        # that a trusted proxy (the dashboard, a reverse proxy) names in X-Forwarded-For.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.api_trusted_proxies)
    app.include_router(
        routes.api_router, prefix=API_PREFIX, dependencies=[Depends(body_media_type)]
    )
    app.include_router(routes.ops_router)
    return app
