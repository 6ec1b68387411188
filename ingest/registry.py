"""A cache of the device registry, so validation does not query the database per message."""

from __future__ import annotations

import time
from collections.abc import Callable

import psycopg
from psycopg.rows import TupleRow

from ingest.validate import DeviceInfo


class DeviceRegistry:
    """Looks devices up in the database and remembers the answer for ``ttl_s`` seconds.

    A deactivation or a new registration therefore takes effect within ``ttl_s``. Unknown devices
    are remembered too (for ``ttl_s``), so a device that is not registered cannot make ingest
    query the database for every message it sends.
    """

    def __init__(
        self,
        connection: Callable[[], psycopg.Connection[TupleRow]],
        *,
        ttl_s: float = 30.0,
    ) -> None:
        self._connection = connection
        self._ttl_s = ttl_s
        self._cache: dict[str, tuple[float, DeviceInfo | None]] = {}

    def lookup(self, device_id: str) -> DeviceInfo | None:
        """The device's registry entry, or None when it is not registered."""
        now = time.monotonic()
        hit = self._cache.get(device_id)
        if hit is not None and now - hit[0] < self._ttl_s:
            return hit[1]
        row = (
            self._connection()
            .execute(
                "SELECT device_id, tenant_id, kind, active FROM devices WHERE device_id = %s",
                (device_id,),
            )
            .fetchone()
        )
        info = DeviceInfo(*row) if row else None
        self._cache[device_id] = (now, info)
        return info
