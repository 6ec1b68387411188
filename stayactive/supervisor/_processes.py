"""The processes of one StayActive machine, as `stayactive run` and the systemd units run them.

One list, in start order (stopped in the reverse order): adding a service is one line here,
and ``deploy/systemd`` is generated from the same list (``stayactive run --write-systemd``).
"""

from __future__ import annotations

from stayactive.settings import Settings, default_worker_id
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
            health_url=f"{_local(settings.api_host, settings.api_port)}/healthz",
        ),
        dashboard_process(settings),
    ]


def dashboard_url(settings: Settings) -> str:
    """Where the dashboard answers on this machine."""
    return _local(settings.dashboard_host, settings.dashboard_port)


def dashboard_process(settings: Settings) -> ProcessSpec:
    """``stayactive dashboard``, ready when Streamlit's health endpoint answers."""
    return ProcessSpec(
        "dashboard",
        stayactive_command("dashboard"),
        health_url=f"{dashboard_url(settings)}/_stcore/health",
    )


def _local(host: str, port: int) -> str:
    """The URL to reach a service bound to ``host`` from this machine."""
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{port}"


def systemd_processes() -> list[ProcessSpec]:
    """The processes of the systemd units: the default settings (the units' environment file
    sets the rest), ingest a template unit with a worker id per host and instance (systemd's
    ``%H`` and ``%i``: ``stayactive-ingest@2`` is ``ingest-<host>-2``)."""
    return service_processes(Settings.model_construct(), worker_id="ingest-%H-%i")
