"""A FIFO bounded by bytes as well as by count: what ingest holds in memory between the network
and the database.

Messages are at most 256 KiB each (larger ones are kept only as a prefix, see
``Received.compact``), but a count alone would still let a device with big payloads make the
queue hold gigabytes; bytes bound it whatever the mix.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Generic, TypeVar

_T = TypeVar("_T")


class ByteQueue(Generic[_T]):
    """Items with a size in bytes; :meth:`put` waits while either bound would be exceeded.

    One item larger than ``max_bytes`` is let in when the queue is empty, so it cannot block
    for ever.
    """

    def __init__(self, *, max_items: int, max_bytes: int) -> None:
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._items: deque[tuple[_T, int]] = deque()
        self._bytes = 0
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._not_full = threading.Condition(self._lock)

    def put(self, item: _T, size: int, timeout: float) -> bool:
        """Append ``item``; False if there was no room within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._not_full:
            while self._items and (
                len(self._items) >= self.max_items or self._bytes + size > self.max_bytes
            ):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._not_full.wait(remaining)
            self._items.append((item, size))
            self._bytes += size
            self._not_empty.notify()
            return True

    def get(self, timeout: float) -> tuple[_T, int] | None:
        """The oldest item and its size, or None if none came within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._not_empty:
            while not self._items:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._not_empty.wait(remaining)
            item, size = self._items.popleft()
            self._bytes -= size
            self._not_full.notify()
            return item, size

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    @property
    def nbytes(self) -> int:
        """Bytes held now."""
        with self._lock:
            return self._bytes
