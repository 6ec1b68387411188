"""``stayactive ingest run``: the MQTT → TimescaleDB service."""

from __future__ import annotations

import logging

import typer

from ingest import (
    SESSION_NEVER_EXPIRES,
    IngestFailed,
    IngestMetrics,
    IngestWorker,
    WorkerConfig,
    serve_metrics,
)
from stayactive.cli._common import stop_on_signals
from stayactive.services.ingest_user import prepare_worker
from stayactive.settings import default_worker_id, get_settings

app = typer.Typer(
    help="Store device messages from the broker in TimescaleDB.", no_args_is_help=True
)
log = logging.getLogger(__name__)
#: Exit status of a worker that failed (its writer thread died): restart it.
EXIT_FAILED = 3


@app.command()
def run(
    worker_id: str = typer.Option(
        default_worker_id(),
        help="MQTT client id and broker account; keep it stable so the broker keeps this "
        "worker's session.",
    ),
    share_group: str = typer.Option(
        "ingest",
        help="Shared-subscription group; workers of one group split the messages. '' for a "
        "plain subscription (a single worker; survives a Mosquitto 2.0 restart, see "
        "docs/operations.md).",
    ),
    session_expiry_s: int = typer.Option(
        SESSION_NEVER_EXPIRES,
        min=0,
        help="How long the broker queues for this worker while it "
        "is away (default: no expiry; retire a worker for good with --retire).",
    ),
    batch_messages: int = typer.Option(500, min=1, help="Commit after this many messages…"),
    batch_age_s: float = typer.Option(0.2, min=0.001, help="…or when the oldest is this old."),
    receive_maximum: int = typer.Option(
        2000, min=1, max=65535, help="Unacknowledged messages the broker may send us at once."
    ),
    retire: bool = typer.Option(
        False,
        help="Drain what the broker queued for this worker id, then end its session and exit: "
        "how to take a worker out of the shared subscription for good.",
    ),
    end_session_on_exit: bool = typer.Option(
        False, help="End the broker session when stopping (for a worker that runs for a while)."
    ),
    metrics_host: str = typer.Option("127.0.0.1", help="Address of /metrics and /health."),
    metrics_port: int | None = typer.Option(
        None,
        help="Port of /metrics and /health (0: none) [default: STAYACTIVE_INGEST_METRICS_PORT].",
    ),
) -> None:
    """Consume device messages until SIGTERM/SIGINT; the batch in hand is finished first.

    As root it switches to the system user `stayactive` once its secrets are read."""
    settings = prepare_worker(get_settings(), worker_id)
    if metrics_port is None:
        metrics_port = settings.ingest_metrics_port
    metrics = IngestMetrics()
    config = WorkerConfig(
        client_id=worker_id,
        share_group=share_group,
        session_expiry_s=session_expiry_s,
        batch_max_messages=batch_messages,
        batch_max_age_s=batch_age_s,
        receive_maximum=max(receive_maximum, batch_messages),
        retire_when_idle_s=5.0 if retire else None,
        end_session_on_exit=end_session_on_exit,
    )
    worker = IngestWorker(settings, config, metrics)
    if metrics_port:
        serve_metrics(metrics, metrics_host, metrics_port, worker.health)
        log.info("metrics on http://%s:%d/metrics, health on /health", metrics_host, metrics_port)
    stop = stop_on_signals("finishing the current batch")
    try:
        worker.run(stop)
    except IngestFailed as exc:
        # Exit non-zero so the supervisor restarts the worker; what was not committed was not
        # acknowledged and comes again.
        log.critical("%s", exc)
        raise typer.Exit(code=EXIT_FAILED) from exc
