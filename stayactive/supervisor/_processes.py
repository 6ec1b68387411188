"""The processes of one StayActive machine, as `stayactive run` and the systemd units run them.

One list, in start order (stopped in the reverse order): adding a service is one line here,
and ``deploy/systemd`` is generated from the same list (``stayactive run --write-systemd``).
"""

from __future__ import annotations

import importlib.util

from stayactive.settings import Settings, default_worker_id
from stayactive.supervisor._spec import ProcessSpec, stayactive_command


def service_processes(
    settings: Settings,
    *,
    worker_id: str | None = None,
    share_group: str = "ingest",
    end_session_on_exit: bool = False,
    dashboard: bool | None = None,
) -> list[ProcessSpec]:
    """Ingest, the analytics runner in follow mode, the API and the dashboard.

    ``end_session_on_exit`` is for an ingest worker that does not come back (a demo, a test):
    the broker stops queueing for it when it stops (a kill -9 keeps the session). ``dashboard``
    None: the dashboard when this checkout has it (:func:`dashboard_available`). Ports and the
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
        *([dashboard_process(settings)] if _wanted(dashboard) else []),
    ]


# --- The dashboard hook ---------------------------------------------------------------------
# The dashboard (branch `dashboard`) brings `stayactive dashboard` and its settings
# STAYACTIVE_DASHBOARD_HOST/PORT. Until it is merged this checkout runs without it and says so
# (DASHBOARD_MISSING); the systemd units always include it, so that they do not change with the
# merge. Once it is merged, dashboard_available() is always true and the getattr() fallbacks
# below become plain attribute reads.

#: Said where the dashboard would be (`stayactive run`, the demo) while it is not here.
DASHBOARD_MISSING = (
    "dashboard: not in this checkout yet (no `stayactive dashboard`); the API runs without it"
)


def dashboard_available() -> bool:
    """True when this checkout has the dashboard's entry point, ``stayactive dashboard``."""
    return importlib.util.find_spec("stayactive.cli.dashboard") is not None


def dashboard_url(settings: Settings) -> str:
    """Where the dashboard answers on this machine."""
    host: str = getattr(settings, "dashboard_host", "127.0.0.1")
    port: int = getattr(settings, "dashboard_port", 8501)
    return _local(host, port)


def dashboard_process(settings: Settings) -> ProcessSpec:
    """``stayactive dashboard``, ready when Streamlit's health endpoint answers."""
    return ProcessSpec(
        "dashboard",
        stayactive_command("dashboard"),
        health_url=f"{dashboard_url(settings)}/_stcore/health",
    )


def _wanted(dashboard: bool | None) -> bool:
    return dashboard_available() if dashboard is None else dashboard


# --- end of the dashboard hook --------------------------------------------------------------


def _local(host: str, port: int) -> str:
    """The URL to reach a service bound to ``host`` from this machine."""
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{port}"


def systemd_processes() -> list[ProcessSpec]:
    """The processes of the systemd units: the default settings (the units' environment file
    sets the rest), ingest a template unit with a worker id per host and instance (systemd's
    ``%H`` and ``%i``: ``stayactive-ingest@2`` is ``ingest-<host>-2``)."""
    return service_processes(Settings.model_construct(), worker_id="ingest-%H-%i", dashboard=True)
