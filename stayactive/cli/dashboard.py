"""``stayactive dashboard``: serve the Streamlit dashboard (it calls the API over HTTP)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from stayactive.settings import get_settings

app = typer.Typer(help="The dashboard for care staff and finance (docs/dashboard.md).",
                  invoke_without_command=True)  # fmt: skip


def streamlit_command(host: str, port: int) -> list[str]:
    """The ``streamlit run`` command line of the dashboard on ``host:port``."""
    script = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
    return [
        sys.executable, "-m", "streamlit", "run", str(script),
        "--server.address", host, "--server.port", str(port), "--server.headless", "true",
        # No usage statistics leave the machine; no tracebacks reach a reader.
        "--browser.gatherUsageStats", "false", "--client.showErrorDetails", "none",
        "--client.toolbarMode", "minimal", "--server.fileWatcherType", "none",
        # A darker blue than the charts' #0072B2: text in it on Streamlit's tint of it (a
        # chosen option) is 5.3:1, WCAG 2.1 AA's 4.5:1 met (#0072B2 there: 3.9:1).
        "--theme.base", "light", "--theme.primaryColor", "#005A8C",
        "--theme.baseFontSize", "17",
    ]  # fmt: skip


@app.callback()
def dashboard(
    host: str | None = typer.Option(None, "--host", help="Address (STAYACTIVE_DASHBOARD_HOST)."),
    port: int | None = typer.Option(None, "--port", help="Port (STAYACTIVE_DASHBOARD_PORT)."),
) -> None:
    """Serve the dashboard; it logs users in at the API (STAYACTIVE_DASHBOARD_API_URL)."""
    settings = get_settings()
    host, port = host or settings.dashboard_host, port or settings.dashboard_port
    command = streamlit_command(host, port)
    typer.echo(f"dashboard on http://{host}:{port} (API {settings.api_base_url()})")
    os.execv(command[0], command)
