"""The HTTP API (FastAPI): ``create_app`` builds it; ``stayactive api`` serves it."""

from stayactive.api.deps import API_PREFIX
from stayactive.api.main import create_app

__all__ = ["API_PREFIX", "create_app"]
