"""Ending an ingest worker's broker session from outside the worker.

A worker's session is persistent: while it is away the broker queues what its subscription
matches, and hands it over when it comes back. For a worker that will not come back in the
same role (a demo started afresh, whose devices are provisioned anew) what is queued belongs
to a world that is gone; a login with the worker's client id, starting clean and with no
session expiry, ends the session and drops the queue.
"""

from __future__ import annotations

from stayactive.mqtt import check_login
from stayactive.settings import Settings


def end_session(settings: Settings, worker_id: str, timeout_s: float = 10.0) -> None:
    """End worker ``worker_id``'s session on the broker, dropping what it queued.

    Raises :class:`~stayactive.errors.ServiceError` if the broker cannot be reached or
    refuses the worker's account, :class:`~stayactive.errors.ConfigurationError` if the worker
    has no account."""
    host, port = settings.mqtt_host_port()
    check_login(
        host, port, *settings.ingest_credentials(worker_id), client_id=worker_id,
        ca_file=settings.mqtt_tls_ca(), timeout_s=timeout_s,
    )  # fmt: skip
