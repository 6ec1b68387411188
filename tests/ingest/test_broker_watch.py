"""The queue watch's arithmetic and log lines, without a broker (the real one:
test_broker_limits.py)."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import CollectorRegistry

from ingest.broker_watch import DROPPED, RETAINED, STORED, STORED_BYTES, BrokerQueueWatch


def _watch() -> tuple[BrokerQueueWatch, CollectorRegistry]:
    registry = CollectorRegistry()
    return BrokerQueueWatch(registry, limit_messages=1000, limit_bytes=10_000_000), registry


def _levels(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage().split(" (")[0]) for r in caplog.records]


def test_nothing_is_judged_until_the_retained_count_is_known() -> None:
    watch, registry = _watch()
    watch.update(STORED, 900)  # retained messages inside: not a queue of 900
    assert watch.level == 0
    assert registry.get_sample_value("stayactive_broker_queue_fill_ratio") == 0
    watch.update(RETAINED, 880)
    assert registry.get_sample_value("stayactive_broker_queued_messages") == 20


def test_each_threshold_logs_once_rising_and_once_falling(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ingest.broker_watch")
    watch, registry = _watch()
    watch.update(RETAINED, 100)
    for stored in (400, 600, 610, 590, 920, 900, 790, 760, 740, 300):
        watch.update(STORED, stored)
    assert _levels(caplog) == [
        (logging.WARNING, "broker queue for ingest past 50 % of its limit"),
        (logging.ERROR, "broker queue for ingest past 80 % of its limit"),
        (logging.INFO, "broker queue back to 69 % of its limit"),  # 690 < 80 % - 5 %
        (logging.INFO, "broker queue back to 20 % of its limit"),
    ]
    assert registry.get_sample_value("stayactive_broker_queue_fill_ratio") == pytest.approx(0.2)


def test_bytes_count_as_much_as_messages(caplog: pytest.LogCaptureFixture) -> None:
    watch, registry = _watch()
    watch.update(RETAINED, 0)
    watch.update(STORED, 10)
    watch.update(STORED_BYTES, 8_500_000)
    assert watch.level == 2
    assert registry.get_sample_value("stayactive_broker_queue_fill_ratio") == pytest.approx(0.85)


def test_drops_are_counted_from_the_first_value_seen_and_across_a_broker_restart(
    caplog: pytest.LogCaptureFixture,
) -> None:
    watch, registry = _watch()
    watch.update(DROPPED, 7)  # before this worker started: logged, not counted
    watch.update(DROPPED, 7)
    watch.update(DROPPED, 12)
    watch.update(DROPPED, 3)  # the broker restarted and counts from 0 again
    assert registry.get_sample_value("stayactive_broker_dropped_total") == 5 + 3
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2 and errors[0].startswith("the broker dropped 5 messages")


def test_warn_ratios_must_rise_within_zero_and_one() -> None:
    with pytest.raises(ValueError):
        BrokerQueueWatch(
            CollectorRegistry(), limit_messages=10, limit_bytes=10, warn_ratios=(0.8, 0.5)
        )
