"""What ``/health`` reports: checked, not remembered.

A worker is healthy when the broker connection is up with its subscription in place, the
database answers a ``SELECT 1`` within its time limit now, the writer thread is alive, and,
while messages are waiting, the last commit is recent. The database is probed from a thread of
its own, on a connection of its own, so that a frozen database cannot hang ``/health`` itself:
a probe that has been running for longer than its limit is an answer too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg.rows import TupleRow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Health:
    """One health report; ``ok`` only when every part is."""

    broker: bool
    subscription: bool
    database: bool
    writer: bool
    committing: bool
    detail: dict[str, object]

    @property
    def ok(self) -> bool:
        return (
            self.broker and self.subscription and self.database and self.writer and self.committing
        )

    def as_json(self) -> dict[str, object]:
        """The report as ``/health`` serves it."""
        parts = {
            "broker": self.broker,
            "subscription": self.subscription,
            "database": self.database,
            "writer": self.writer,
            "committing": self.committing,
        }
        return {
            "status": "up" if self.ok else "down",
            **{k: "up" if v else "down" for k, v in parts.items()},
            **self.detail,
        }


class DatabaseProbe:
    """Runs ``SELECT 1`` every ``interval_s`` and remembers how it went."""

    def __init__(
        self,
        connect: Callable[[], psycopg.Connection[TupleRow]],
        *,
        interval_s: float = 2.0,
        timeout_s: float = 2.0,
    ) -> None:
        self._connect = connect
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self._conn: psycopg.Connection[TupleRow] | None = None
        self._lock = threading.Lock()
        self._started_s: float | None = None  # the probe under way, if any
        self._last_ok_s: float | None = None
        self._last_latency_s: float | None = None
        self._last_error = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="ingest-db-probe", daemon=True)

    def start(self) -> DatabaseProbe:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(self.timeout_s + 1)
        conn = self._conn
        if conn is not None and not self._thread.is_alive():
            conn.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.probe_once()
            self._stop.wait(self.interval_s)

    def probe_once(self) -> None:
        """One timed ``SELECT 1`` (blocks for as long as the database takes)."""
        started = time.monotonic()
        with self._lock:
            self._started_s = started
        try:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._conn = self._connect()
            self._conn.execute("SELECT 1").fetchone()
            error = ""
        except Exception as exc:  # any failure is "down", with its message
            error = f"{type(exc).__name__}: {exc}".strip()[:300]
            if self._conn is not None and not self._conn.closed:
                self._conn.close()
            self._conn = None
        finished = time.monotonic()
        with self._lock:
            self._started_s = None
            self._last_latency_s = finished - started
            self._last_error = error
            if not error and finished - started <= self.timeout_s:
                self._last_ok_s = finished

    def state(self) -> tuple[bool, dict[str, object]]:
        """(up, details): up when the last probe answered in time and none is overdue."""
        now = time.monotonic()
        with self._lock:
            running = self._started_s
            last_ok = self._last_ok_s
            latency = self._last_latency_s
            error = self._last_error
        overdue = running is not None and now - running > self.timeout_s
        recent = last_ok is not None and now - last_ok <= self.interval_s + 2 * self.timeout_s
        detail: dict[str, object] = {
            "database_latency_s": None if latency is None else round(latency, 4)
        }
        if running is not None and overdue:
            detail["database_error"] = f"SELECT 1 unanswered for {now - running:.1f} s"
        elif error:
            detail["database_error"] = error
        return (recent and not overdue and not error), detail
