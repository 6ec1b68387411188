"""The HTTP API (FastAPI): ``create_app`` builds it; ``stayactive api`` serves it."""

from stayactive.api.main import API_PREFIX, create_app

__all__ = ["API_PREFIX", "create_app"]
