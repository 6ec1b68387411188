"""The ingest benchmark: its ceiling replays exactly the rows ingest wrote, message by message,
it refuses a backlog the broker would not queue, and its workers end with it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from firmware_sim.loadgen import FRAMES_PER_MESSAGE, TelemetryLoad
from ingest import fastpath, store
from ingest.copy_binary import stream
from ingest.messages import Received
from ingest.validate import DeviceInfo
from stayactive.errors import ConfigurationError
from stayactive.settings import Settings
from stayactive.tools.bench.ingest import _check_backlog_fits, _rows_by_message
from tests.fixtures.streams import wait_until


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


def _workers_of(bench_pid: int) -> list[int]:
    """Pids of benchmark ingest workers whose parent is ``bench_pid``, or that lost it."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if b"bench-ingest-0" in cmdline and ppid in (bench_pid, 1):
            found.append(int(proc.name))
    return found


def test_a_benchmark_stopped_by_a_signal_leaves_no_worker_behind(settings: Settings) -> None:
    bench = subprocess.Popen(
        [sys.executable, "-m", "stayactive", "bench", "ingest", "--devices", "2",
         "--seconds", "60", "--rate", "10", "--backlog", "100"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    workers: list[int] = []
    try:
        wait_until(lambda: bool(_workers_of(bench.pid)), 60, "the benchmark's worker")
        workers = _workers_of(bench.pid)
        bench.terminate()  # Python's default: no finally, no clean-up
        bench.wait(10)
        wait_until(
            lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers), 10, "no worker"
        )
    finally:
        bench.kill()
        bench.wait(10)
        for pid in workers:  # when the test fails: no orphan for the rest of the suite
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
