"""The routers, one per resource; ``api_router`` is mounted under ``/api/v1``."""

from fastapi import APIRouter

from stayactive.api.routes import (
    alerts,
    assignments,
    auth,
    devices,
    health,
    me,
    residents,
    wards,
)

api_router = APIRouter()
api_router.include_router(auth.router)
api_router.include_router(me.router)
api_router.include_router(wards.router)
api_router.include_router(residents.router)
api_router.include_router(devices.router)
api_router.include_router(assignments.router)
api_router.include_router(alerts.router)

ops_router = health.router

__all__ = ["api_router", "ops_router"]
