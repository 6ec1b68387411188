"""The routers, one per resource; ``api_router`` is mounted under ``/api/v1``."""

from fastapi import APIRouter

from stayactive.api.routes import auth, health, me

api_router = APIRouter()
api_router.include_router(auth.router)
api_router.include_router(me.router)

ops_router = health.router

__all__ = ["api_router", "ops_router"]
