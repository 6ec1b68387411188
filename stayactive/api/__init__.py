"""The HTTP API (FastAPI): ``create_app`` builds it; ``stayactive api`` serves it."""

from stayactive.api.main import create_app
from stayactive.api.paths import API_PREFIX

__all__ = ["API_PREFIX", "create_app"]
