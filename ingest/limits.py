"""Per-device limits on what rejected messages may cost: a token bucket per device.

A device that sends nothing but garbage must not fill the disk: beyond its budget, its rejects
are counted (per device, reason and hour, in ``ingest_reject_overflow``) instead of kept.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated_s: float


class RejectLimiter:
    """Lets each device store ``burst`` rejects at once and ``per_hour`` an hour after that.

    Thread-safe; remembers at most ``max_devices`` devices (full buckets, i.e. devices that
    have been quiet long enough, are forgotten first, which changes nothing for them).
    """

    def __init__(
        self,
        *,
        burst: int = 20,
        per_hour: float = 60.0,
        max_devices: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = burst
        self.per_s = per_hour / 3600.0
        self.max_devices = max_devices
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def admit(self, device_id: str | None) -> bool:
        """Whether a reject of ``device_id`` may be stored now (taking one token if so)."""
        key = device_id or ""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self.max_devices:
                    self._forget_full(now)
                bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated_s) * self.per_s)
            bucket.updated_s = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return True
            return False

    def _forget_full(self, now: float) -> None:
        full = [
            k
            for k, b in self._buckets.items()
            if b.tokens + (now - b.updated_s) * self.per_s >= self.burst
        ]
        for key in full or list(self._buckets)[: max(1, len(self._buckets) // 10)]:
            del self._buckets[key]
