"""The device side of the StayActive wire protocol: build, encode and decode messages.

``docs/protocol.md`` is the contract; this package is the simulator's implementation of it and the
reference for what a well-behaved device sends. It stands alone on purpose (nothing from
``ingest`` or ``stayactive``): the simulator must exercise the backend only through the wire
format, exactly as a vendor's device would.

Builders return plain ``dict`` messages; :func:`encode` turns one into bytes (compact JSON or
CBOR) and :func:`decode` turns bytes back into a dict following the protocol's encoding
detection rule. Timestamps go in and out as timezone-aware :class:`~datetime.datetime` objects
and travel as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` strings.

The package's parts: ``_common`` (versions, limits, topics, timestamps), ``_walker``,
``_robot``, ``_status`` and ``_config`` (the builders of each message type), ``_encoding``.
"""

from firmware_sim.protocol._common import (
    CHANNEL_OF_TYPE,
    CONTENT_TYPES,
    DEVICE_ID_PATTERN,
    MAX_PAYLOAD_BYTES,
    PROTOCOL_VERSION,
    REJECT_REASONS,
    SAMPLE_LIMITS,
    TIMESTAMP_PATTERN,
    TOPIC_ROOT,
    Channel,
    Encoding,
    Message,
    ProtocolError,
    RejectReason,
    channel_of,
    format_timestamp,
    parse_timestamp,
    parse_topic,
    topic,
    topic_of,
)
from firmware_sim.protocol._config import (
    DEFAULT_CONFIG,
    DeviceConfig,
    config_message,
    parse_config,
)
from firmware_sim.protocol._encoding import decode, detect_encoding, encode
from firmware_sim.protocol._robot import (
    robot_exercise,
    robot_session_end,
    robot_session_start,
    robot_sit_to_stand_test,
)
from firmware_sim.protocol._status import device_status, offline_will
from firmware_sim.protocol._walker import WalkerFrame, walker_telemetry

__all__ = [
    "CHANNEL_OF_TYPE",
    "CONTENT_TYPES",
    "DEFAULT_CONFIG",
    "DEVICE_ID_PATTERN",
    "MAX_PAYLOAD_BYTES",
    "PROTOCOL_VERSION",
    "REJECT_REASONS",
    "SAMPLE_LIMITS",
    "TIMESTAMP_PATTERN",
    "TOPIC_ROOT",
    "Channel",
    "DeviceConfig",
    "Encoding",
    "Message",
    "ProtocolError",
    "RejectReason",
    "WalkerFrame",
    "channel_of",
    "config_message",
    "decode",
    "detect_encoding",
    "device_status",
    "encode",
    "format_timestamp",
    "offline_will",
    "parse_config",
    "parse_timestamp",
    "parse_topic",
    "robot_exercise",
    "robot_session_end",
    "robot_session_start",
    "robot_sit_to_stand_test",
    "topic",
    "topic_of",
    "walker_telemetry",
]
