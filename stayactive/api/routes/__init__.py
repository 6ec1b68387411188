"""The routers, one per resource; ``api_router`` is mounted under ``/api/v1``."""

from fastapi import APIRouter

from stayactive.api.routes import (
    access_review,
    alerts,
    assignments,
    audit,
    auth,
    consents,
    devices,
    fhir,
    health,
    imports,
    me,
    reports,
    resident_alerts,
    residents,
    telemetry,
    users,
    wards,
)

api_router = APIRouter()
api_router.include_router(auth.router)
api_router.include_router(me.router)
api_router.include_router(wards.router)
api_router.include_router(residents.router)
api_router.include_router(consents.router)
api_router.include_router(devices.router)
api_router.include_router(assignments.router)
api_router.include_router(alerts.router)
api_router.include_router(resident_alerts.router)
api_router.include_router(imports.router)
api_router.include_router(fhir.router)
api_router.include_router(telemetry.router)
api_router.include_router(reports.router)
api_router.include_router(access_review.router)
api_router.include_router(audit.router)
api_router.include_router(users.router)

ops_router = health.router

__all__ = ["api_router", "ops_router"]
