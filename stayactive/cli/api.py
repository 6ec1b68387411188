"""``stayactive api``: serve the HTTP API."""

from __future__ import annotations

import typer

from stayactive.settings import get_settings

app = typer.Typer(help="The HTTP API (docs/api.md).", invoke_without_command=True)


@app.callback()
def api(
    ctx: typer.Context,
    host: str | None = typer.Option(None, "--host", help="Address to bind (STAYACTIVE_API_HOST)."),
    port: int | None = typer.Option(None, "--port", help="Port (STAYACTIVE_API_PORT)."),
    workers: int = typer.Option(1, min=1, max=16, help="Worker processes."),
) -> None:
    """Serve the API under /api/v1 (OpenAPI at /api/v1/openapi.json, /healthz, /metrics)."""
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "stayactive.api:create_app",
        factory=True,
        host=host or settings.api_host,
        port=port or settings.api_port,
        workers=workers,
        proxy_headers=False,  # create_app has it, with STAYACTIVE_API_TRUSTED_PROXIES
        server_header=False,
        log_config=None,
    )


@app.command("rotate-key")
def rotate_key() -> None:
    """A new key signs access tokens from now on; tokens of the old one work until they expire.

    A running API picks the new key up by itself (it watches the key file).
    """
    from stayactive import auth

    done = auth.rotate(get_settings())
    typer.echo(f"tokens are now signed with key {done.new_kid}")
    if done.retired_kid:
        typer.echo(f"key {done.retired_kid} verifies until its last token has expired")
    if done.dropped:
        typer.echo(f"dropped keys no token can use any more: {', '.join(done.dropped)}")
