"""The ingest benchmark: its ceiling replays exactly the rows ingest wrote, message by message,
and it refuses a backlog the broker would not queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from firmware_sim.loadgen import FRAMES_PER_MESSAGE, TelemetryLoad
from ingest import fastpath, store
from ingest.copy_binary import stream
from ingest.messages import Received
from ingest.validate import DeviceInfo
from stayactive.errors import ConfigurationError
from stayactive.settings import Settings
from stayactive.tools.bench.ingest import _check_backlog_fits, _rows_by_message


def test_a_copy_stream_splits_into_each_message_s_rows() -> None:
    load = TelemetryLoad(seed=3)
    now = datetime.now(UTC)
    devices = {d: DeviceInfo(d, "bench", "walker", True) for d in ("BENCH-1", "BENCH-22")}
    rows: dict[tuple[str, int, int], bytes] = {}
    for seq in (7, 8):
        for device in devices:
            payload = load.message(device, 2, seq, now)
            message = Received(f"stayactive/v1/{device}/telemetry", payload, now)
            accepted = fastpath.accept(message, devices.get, retention=timedelta(days=400))
            assert accepted is not None
            (encoded,), _failed = store.encode([accepted])
            rows[(device, 2, seq)] = encoded.frame_rows
    split = _rows_by_message(stream(rows.values()))
    assert list(split) == list(rows)  # in the order of the stream
    assert {key: b"".join(message) for key, message in split.items()} == rows
    assert all(len(message) == FRAMES_PER_MESSAGE for message in split.values())


def test_a_backlog_beyond_the_broker_s_queue_is_refused_before_anything_runs() -> None:
    # Beyond max_queued_bytes the broker acknowledges and drops: the run waited 300 s for
    # messages that were never queued, and then measured fewer than asked.
    load = TelemetryLoad(seed=1)
    size = len(load.message("bench-size", 1, 1, datetime.now(UTC)))
    settings = Settings(mqtt_max_queued_bytes=1000 * size + size // 2)
    _check_backlog_fits(settings, load, 1000)
    with pytest.raises(ConfigurationError, match=r"--backlog 1001 does not fit.*at most 1000"):
        _check_backlog_fits(settings, load, 1001)
    few = Settings(mqtt_max_queued_messages=500)
    with pytest.raises(ConfigurationError, match="at most 500"):
        _check_backlog_fits(few, load, 501)
