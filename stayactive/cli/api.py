"""``stayactive api``: serve the HTTP API."""

from __future__ import annotations

import typer

from stayactive.settings import get_settings

app = typer.Typer(help="The HTTP API (docs/api.md).", invoke_without_command=True)


@app.callback()
def api(
    host: str | None = typer.Option(None, "--host", help="Address to bind (STAYACTIVE_API_HOST)."),
    port: int | None = typer.Option(None, "--port", help="Port (STAYACTIVE_API_PORT)."),
    workers: int = typer.Option(1, min=1, max=16, help="Worker processes."),
) -> None:
    """Serve the API under /api/v1 (OpenAPI at /api/v1/openapi.json, /healthz, /metrics)."""
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "stayactive.api:create_app",
        factory=True,
        host=host or settings.api_host,
        port=port or settings.api_port,
        workers=workers,
        proxy_headers=False,
        server_header=False,
        log_config=None,
    )
