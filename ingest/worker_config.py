"""How one ingest worker is tuned (:class:`WorkerConfig`); the worker is ingest.consumer."""

from __future__ import annotations

from dataclasses import dataclass

SESSION_NEVER_EXPIRES = 0xFFFFFFFF  # MQTT 5: the session does not expire


@dataclass(frozen=True)
class WorkerConfig:
    """Tuning of one worker; the defaults suit a municipality on one machine."""

    client_id: str = "ingest-1"
    # Workers of one shared-subscription group split the messages; "" subscribes plainly (one
    # worker only), which Mosquitto 2.0 restores after a restart and a shared one it does not.
    share_group: str = "ingest"
    # How long the broker keeps queueing for this worker while it is away: never expire, as
    # Mosquitto 2.0.11 drops sessions with a finite expiry when it restarts. Retire a worker
    # that will not come back (``--retire``).
    session_expiry_s: int = SESSION_NEVER_EXPIRES
    batch_max_messages: int = 500
    batch_max_age_s: float = 0.2
    receive_maximum: int = 2000
    backoff_max_s: float = 10.0
    # Retiring a worker: drain what the broker queued for it, then end its session so that the
    # shared subscription stops queueing messages for a worker that will not come back.
    retire_when_idle_s: float | None = None
    # End the session when stopping (after the batches in hand): for a worker that runs only
    # for a while, like the demo's, so the broker does not queue for it once it is gone.
    end_session_on_exit: bool = False
    # Memory: payload bytes held between the network and the database (the queue), and per batch.
    queue_max_bytes: int = 64 * 1024 * 1024
    batch_max_bytes: int = 16 * 1024 * 1024
    # Rejects a device may have stored: a burst, then so many an hour; beyond, they are counted.
    reject_burst: int = 20
    reject_per_hour: float = 60.0
    # /health: unhealthy when messages wait and nothing has committed for this long.
    stall_after_s: float = 30.0
    db_probe_interval_s: float = 2.0
    db_probe_timeout_s: float = 2.0
    # A worker whose writer died keeps answering /health ("writer": "down") this long before
    # it exits, so that health checks and scrapes see why it is going away.
    failed_grace_s: float = 2.0
    # How often moved ack watermarks are stored and published (each device's at most once a
    # round): a device replays what stays uncovered for 30 s, so a second is soon enough.
    ack_interval_s: float = 1.0
