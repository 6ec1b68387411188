"""Prometheus metrics and the health endpoint of an ingest worker."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ingest.health import Health

log = logging.getLogger(__name__)


class IngestMetrics:
    """Every metric an ingest worker exposes, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.messages = Counter(
            "stayactive_ingest_messages", "Messages received", ["channel"], registry=r
        )
        self.rows = Counter(
            "stayactive_ingest_rows_written", "Rows committed", ["table"], registry=r
        )
        self.duplicates = Counter(
            "stayactive_ingest_duplicate_rows",
            "Rows already stored (redelivery, replay)",
            registry=r,
        )
        # No device label: devices times reasons would grow without bound (ingest_rejects has them).
        self.rejects = Counter(
            "stayactive_ingest_rejects", "Messages rejected, by reason", ["reason"], registry=r
        )
        self.rejects_suppressed = Counter(
            "stayactive_ingest_rejects_suppressed",
            "Rejects beyond a device's rate limit: counted in ingest_reject_overflow, not kept",
            registry=r,
        )
        self.duplicate_messages = Counter(
            "stayactive_ingest_duplicate_messages",
            "Messages whose (device, boot, seq) was already stored with the same payload",
            registry=r,
        )
        self.key_seconds = Histogram(
            "stayactive_ingest_key_seconds",
            "Time to claim the message keys of one batch (part of the commit time)",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
            registry=r,
        )
        self.batch_size = Histogram(
            "stayactive_ingest_batch_messages",
            "Messages per committed batch",
            buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500),
            registry=r,
        )
        self.commit_seconds = Histogram(
            "stayactive_ingest_commit_seconds",
            "Time to write and commit one batch",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.lag_seconds = Histogram(
            "stayactive_ingest_lag_seconds",
            "Commit time minus device time of the message",
            buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600, 86400),
            registry=r,
        )
        self.queue_depth = Gauge(
            "stayactive_ingest_queue_depth", "Messages received and not yet taken", registry=r
        )
        self.queue_bytes = Gauge(
            "stayactive_ingest_queue_bytes", "Payload bytes received and not yet taken", registry=r
        )
        self.writer_up = Gauge(
            "stayactive_ingest_writer_up", "1 while the writer thread runs", registry=r
        )
        self.writer_up.set(1)
        self.storage_retries = Counter(
            "stayactive_ingest_storage_retries",
            "Batches retried after a database error",
            registry=r,
        )
        self.database_up = Gauge(
            "stayactive_ingest_database_up", "1 when the database answers", registry=r
        )
        self.broker_up = Gauge(
            "stayactive_ingest_broker_up", "1 when connected to the broker", registry=r
        )

        self._state = {"database": False, "broker": False, "subscription": False}

    def set_reachable(self, service: str, up: bool) -> None:
        """Record whether ``database`` or ``broker`` is reachable."""
        self._state[service] = up
        (self.database_up if service == "database" else self.broker_up).set(1 if up else 0)

    def set_subscribed(self, subscribed: bool) -> None:
        """Record whether the broker confirmed the worker's subscription (SUBACK)."""
        self._state["subscription"] = subscribed

    def healthy(self) -> dict[str, bool]:
        """Whether the database and the broker are reachable and the subscription is in place,
        as the health endpoint reports."""
        return dict(self._state)


def serve(
    metrics: IngestMetrics, host: str, port: int, health: Callable[[], Health]
) -> ThreadingHTTPServer:
    """Serve ``/metrics`` (Prometheus) and ``/health`` (JSON; 503 when unhealthy) in a thread."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                body, status, kind = generate_latest(metrics.registry), 200, CONTENT_TYPE_LATEST
            elif self.path == "/health":
                report = health()
                status = 200 if report.ok else 503
                body = json.dumps(report.as_json()).encode()
                kind = "application/json"
            else:
                body, status, kind = b"not found\n", 404, "text/plain"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("metrics http: " + format, *args)

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="ingest-metrics", daemon=True).start()
    return server
