"""A warning before the broker's queue for ingest fills up.

The broker queues messages for an ingest session that is away or behind, up to its limits
(``max_queued_messages`` / ``max_queued_bytes``; the settings ``mqtt_max_queued_messages`` and
``mqtt_max_queued_bytes``). Beyond them it drops new messages for that session after having
acknowledged them to the device; the devices keep what the backend's ack does not cover and
replay it, but the backlog has then outgrown what the broker was sized for. This watcher reads
the broker's own counters from ``$SYS`` (published every ``sys_interval`` seconds, retained, so
a worker that connects learns the state at once), exports them on the worker's ``/metrics`` and
logs a line when the queue passes 50 % and 80 % of a limit, and whenever messages are dropped.

What Mosquitto 2.0 publishes is broker-wide, not per session:

* ``$SYS/broker/store/messages/count`` and ``…/bytes``: every message the broker holds, for
  whichever session, in flight or queued, and every retained message;
* ``$SYS/broker/retained messages/count``: the retained ones (``$SYS`` itself included);
* ``$SYS/broker/publish/messages/dropped``: messages dropped for a full queue, any session.

The estimate of the queue is ``stored - retained`` messages (each message held for a session
is stored once, however many sessions hold it, so this bounds the longest queue from above up
to the newest retained status of each device) and ``stored`` bytes (an upper bound: retained
payloads count too). Several sessions queueing at once add up, which warns earlier, never later.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode
from prometheus_client import CollectorRegistry, Counter, Gauge

log = logging.getLogger(__name__)

STORED = "$SYS/broker/store/messages/count"
STORED_BYTES = "$SYS/broker/store/messages/bytes"
RETAINED = "$SYS/broker/retained messages/count"
DROPPED = "$SYS/broker/publish/messages/dropped"
TOPICS = (STORED, STORED_BYTES, RETAINED, DROPPED)


@dataclass
class BrokerCounters:
    """The broker's latest ``$SYS`` values (None until the first one arrives)."""

    stored: int | None = None
    stored_bytes: int | None = None
    retained: int | None = None
    dropped: int | None = None

    @property
    def queued(self) -> int | None:
        """Messages held for sessions (stored minus retained); None until both are known (the
        first stored count alone would count the retained ones as queued)."""
        if self.stored is None or self.retained is None:
            return None
        return max(0, self.stored - self.retained)


class BrokerQueueWatch:
    """Exports the broker's queue counters and warns before a session's limit is reached.

    Parameters
    ----------
    registry
        The worker's Prometheus registry (``IngestMetrics.registry``).
    limit_messages, limit_bytes
        The broker's per-session limits (``mqtt_max_queued_messages`` / ``…_bytes``).
    warn_ratios
        Fill ratios at which a line is logged, rising: the first as a warning, the others as
        errors.
    hysteresis
        How far below a ratio the fill must fall before that ratio warns again (so a queue
        hovering at a threshold gives one line, not one every ``sys_interval``).
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        limit_messages: int,
        limit_bytes: int,
        warn_ratios: Sequence[float] = (0.5, 0.8),
        hysteresis: float = 0.05,
    ) -> None:
        if list(warn_ratios) != sorted(warn_ratios) or not all(0 < r < 1 for r in warn_ratios):
            raise ValueError(f"warn_ratios must rise within (0, 1): {warn_ratios}")
        self.limit_messages = limit_messages
        self.limit_bytes = limit_bytes
        self.warn_ratios = tuple(warn_ratios)
        self.hysteresis = hysteresis
        self.counters = BrokerCounters()
        #: How many of ``warn_ratios`` the fill has passed (and not fallen back from).
        self.level = 0
        self._subscribe_mid: int | None = None
        r = registry
        self.queued_messages = Gauge(
            "stayactive_broker_queued_messages",
            "Messages the broker holds for sessions (stored minus retained; all sessions)",
            registry=r,
        )
        self.queued_bytes = Gauge(
            "stayactive_broker_queued_bytes",
            "Payload bytes the broker holds (retained included; all sessions)",
            registry=r,
        )
        self.retained_messages = Gauge(
            "stayactive_broker_retained_messages", "Retained messages on the broker", registry=r
        )
        self.limit_messages_gauge = Gauge(
            "stayactive_broker_queue_limit_messages",
            "Messages one broker session may queue (max_queued_messages)",
            registry=r,
        )
        self.limit_bytes_gauge = Gauge(
            "stayactive_broker_queue_limit_bytes",
            "Bytes one broker session may queue (max_queued_bytes)",
            registry=r,
        )
        self.fill_ratio = Gauge(
            "stayactive_broker_queue_fill_ratio",
            "The larger of queued messages and queued bytes over their limits",
            registry=r,
        )
        self.dropped = Counter(
            "stayactive_broker_dropped",
            "Messages the broker dropped for a full session queue (any session), seen by us",
            registry=r,
        )
        self.limit_messages_gauge.set(limit_messages)
        self.limit_bytes_gauge.set(limit_bytes)

    # --- MQTT (paho's network thread) -----------------------------------------------------

    def attach(self, client: mqtt.Client) -> None:
        """Route the ``$SYS`` topics to this watcher instead of the client's ``on_message``."""
        for topic in TOPICS:
            client.message_callback_add(topic, self.on_message)

    def subscribe(self, client: mqtt.Client) -> None:
        """Subscribe (QoS 0: the broker neither queues them for us nor waits for our ack);
        call it from ``on_connect``."""
        _rc, self._subscribe_mid = client.subscribe([(topic, 0) for topic in TOPICS])

    def owns_subscription(self, mid: int, reasons: Sequence[ReasonCode]) -> bool:
        """True when the SUBACK ``mid`` answers :meth:`subscribe` (then the caller ignores it);
        a refusal is logged once: the worker runs on, without the warning."""
        if mid != self._subscribe_mid:
            return False
        refused = [str(r) for r in reasons if r.is_failure]
        if refused:
            log.warning(
                "the broker refused the $SYS counters (%s): no warning before its queue "
                "limit is reached; give the ingest role read access to %s",
                ", ".join(refused),
                ", ".join(TOPICS),
            )
        return True

    def on_message(self, _c: object, _u: object, message: mqtt.MQTTMessage) -> None:
        try:
            value = int(bytes(message.payload).decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            log.warning("unreadable $SYS value on %s: %r", message.topic, message.payload[:40])
            return
        self.update(message.topic, value)

    # --- the logic ------------------------------------------------------------------------

    def update(self, topic: str, value: int) -> None:
        """Take one counter's new value; update the metrics and log what has changed."""
        c = self.counters
        if topic == DROPPED:
            self._dropped(value)
            return
        if topic == STORED:
            c.stored = value
        elif topic == STORED_BYTES:
            c.stored_bytes = value
        elif topic == RETAINED:
            c.retained = value
            self.retained_messages.set(value)
        else:
            return
        queued = c.queued
        if queued is None:
            return
        queued_bytes = c.stored_bytes or 0
        self.queued_messages.set(queued)
        self.queued_bytes.set(queued_bytes)
        ratio = max(queued / self.limit_messages, queued_bytes / self.limit_bytes)
        self.fill_ratio.set(ratio)
        self._warn(ratio, queued, queued_bytes)

    def _warn(self, ratio: float, queued: int, queued_bytes: int) -> None:
        level = self.level
        while level < len(self.warn_ratios) and ratio >= self.warn_ratios[level]:
            level += 1
        while level > 0 and ratio < self.warn_ratios[level - 1] - self.hysteresis:
            level -= 1
        if level == self.level:
            return
        rising = level > self.level
        self.level = level
        what = (
            f"{queued} of {self.limit_messages} messages, "
            f"{queued_bytes / 2**20:.1f} of {self.limit_bytes / 2**20:.0f} MiB"
        )
        if not rising:
            log.info("broker queue back to %.0f %% of its limit (%s)", 100 * ratio, what)
        else:
            passed = self.warn_ratios[level - 1]
            log.log(
                logging.WARNING if level == 1 else logging.ERROR,
                "broker queue for ingest past %.0f %% of its limit (%s): ingest is away or "
                "behind; at the limit the broker drops new messages (the devices replay them)",
                100 * passed,
                what,
            )

    def _dropped(self, value: int) -> None:
        last = self.counters.dropped
        self.counters.dropped = value
        if last is None:
            if value:
                log.warning("the broker has dropped %d messages since it started", value)
            return
        # A smaller value means the broker restarted and counts from 0 again.
        new = value - last if value >= last else value
        if new > 0:
            self.dropped.inc(new)
            log.error(
                "the broker dropped %d messages for a full session queue (%d since it "
                "started): devices replay what the ack does not cover",
                new,
                value,
            )
