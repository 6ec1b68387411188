"""Ingest: device messages from MQTT (or the HTTP fallback) into TimescaleDB.

The public surface is below; the modules behind it (decoding, validation, binary COPY, the
worker's threads) are ingest's own business and may change:

* :class:`IngestWorker` and :class:`WorkerConfig`: the MQTT consumer, acknowledging a message
  only after its batch is committed (:class:`IngestFailed` when it cannot go on);
  :class:`IngestMetrics` and :func:`serve_metrics` for its ``/metrics`` and ``/health``.
* :func:`ingest_one`: one message without MQTT, with the same checks and write (the API's HTTP
  fallback mounts it).
* :func:`validate` with :class:`DeviceInfo` / :data:`DeviceLookup`, and the message types it
  returns (:class:`Received` in; :class:`WalkerTelemetry`, :class:`RobotEvent`,
  :class:`Status` or a :class:`Reject` out); :class:`DeviceRegistry` caches the lookups.
* :data:`FRAME_COLUMNS` and :func:`claim_message_keys`: the columns ingest writes to
  ``walker_frames`` and its key claim, for the benchmark's ceiling (the same database work).
* :func:`provision`, :func:`rotate`, :func:`remove`,
  :func:`issue_certificate` and :func:`write_credentials`: register devices and give each a
  broker account (and, if wanted, a client certificate) through a ``BrokerAccounts``
  (``stayactive.broker_accounts``; ``for_settings(settings)`` is the settings' broker's).
"""

from ingest.consumer import IngestFailed, IngestWorker
from ingest.credentials import (
    issue_certificate,
    provision,
    remove,
    rotate,
    write_credentials,
)
from ingest.direct import ingest_one
from ingest.messages import (
    FLOAT_CHANNELS,
    Accepted,
    Received,
    Reject,
    RobotEvent,
    Status,
    WalkerTelemetry,
)
from ingest.metrics import IngestMetrics
from ingest.metrics import serve as serve_metrics
from ingest.registry import DeviceRegistry
from ingest.sessions import end_session
from ingest.store import FRAME_COLUMNS
from ingest.store import claim_keys as claim_message_keys
from ingest.validate import DeviceInfo, DeviceLookup, validate
from ingest.worker_config import SESSION_NEVER_EXPIRES, WorkerConfig

__all__ = [
    "FLOAT_CHANNELS",
    "FRAME_COLUMNS",
    "SESSION_NEVER_EXPIRES",
    "Accepted",
    "DeviceInfo",
    "DeviceLookup",
    "DeviceRegistry",
    "IngestFailed",
    "IngestMetrics",
    "IngestWorker",
    "Received",
    "Reject",
    "RobotEvent",
    "Status",
    "WalkerTelemetry",
    "WorkerConfig",
    "claim_message_keys",
    "end_session",
    "ingest_one",
    "issue_certificate",
    "provision",
    "remove",
    "rotate",
    "serve_metrics",
    "validate",
    "write_credentials",
]
