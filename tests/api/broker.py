"""Asking the real broker whether it takes a device's password."""

from __future__ import annotations

from stayactive.errors import ServiceError
from stayactive.mqtt import check_login
from stayactive.settings import Settings


def accepts(settings: Settings, username: str, password: str) -> bool:
    """True if the broker lets ``username`` log in with ``password`` now."""
    host, port = settings.mqtt_host_port()
    try:
        check_login(host, port, username, password, timeout_s=3, client_id=username)
    except ServiceError:
        return False
    return True
