"""The processes of one StayActive machine, as `stayactive run` and the systemd units run them.

One list, in start order (stopped in the reverse order): adding a service is one line here,
and ``deploy/systemd`` is generated from the same list (``stayactive run --write-systemd``).
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from stayactive.errors import ServiceError
from stayactive.settings import Settings, default_worker_id, local_url
from stayactive.supervisor._spec import ProcessSpec, stayactive_command


def service_processes(
    settings: Settings,
    *,
    worker_id: str | None = None,
    share_group: str = "ingest",
    end_session_on_exit: bool = False,
) -> list[ProcessSpec]:
    """Ingest, the analytics runner in follow mode, the API and the dashboard.

    ``end_session_on_exit`` is for an ingest worker that does not come back (a demo, a test):
    the broker stops queueing for it when it stops (a kill -9 keeps the session). Ports and the
    rest come from the settings each process reads (its environment)."""
    metrics = settings.ingest_metrics_port
    ingest = stayactive_command(
        "ingest", "run", "--worker-id", worker_id or default_worker_id(),
        "--share-group", share_group,
        *(["--end-session-on-exit"] if end_session_on_exit else []),
    )  # fmt: skip
    return [
        ProcessSpec(
            "ingest", ingest, health_url=f"http://127.0.0.1:{metrics}/health" if metrics else None
        ),
        ProcessSpec("analytics", stayactive_command("analytics", "run", "--follow")),
        ProcessSpec(
            "api",
            stayactive_command("api"),
            health_url=f"{local_url(settings.api_host, settings.api_port)}/healthz",
        ),
        dashboard_process(settings),
    ]


def dashboard_url(settings: Settings) -> str:
    """Where the dashboard answers on this machine."""
    return local_url(settings.dashboard_host, settings.dashboard_port)


def dashboard_process(settings: Settings) -> ProcessSpec:
    """``stayactive dashboard``, ready when Streamlit's health endpoint answers; confined (it
    holds no secret: it logs users in at the API)."""
    return ProcessSpec(
        "dashboard",
        stayactive_command("dashboard"),
        health_url=f"{dashboard_url(settings)}/_stcore/health",
        confined=True,
    )


def refuse_busy_ports(specs: Iterable[ProcessSpec]) -> None:
    """Raise :class:`~stayactive.errors.ServiceError` naming each port a process of ``specs``
    would answer on (its health URL) that something else holds already: another `stayactive
    run` or demo, most likely."""
    busy = []
    for spec in specs:
        if spec.health_url is None:
            continue
        url = urlsplit(spec.health_url)
        host, port = url.hostname or "127.0.0.1", url.port
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port or 0))
            except OSError:
                busy.append(f"{spec.name} ({host}:{port})")
    if busy:
        raise ServiceError(
            f"in use already: {', '.join(busy)}; is another `stayactive run` or `make demo` "
            "running?"
        )


def systemd_processes() -> list[ProcessSpec]:
    """The processes of the systemd units: the default settings (the units' environment file
    sets the rest), ingest a template unit with a worker id per host and instance (systemd's
    ``%H`` and ``%i``: ``stayactive-ingest@2`` is ``ingest-<host>-2``)."""
    return service_processes(Settings.model_construct(), worker_id="ingest-%H-%i")
