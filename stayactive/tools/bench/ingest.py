"""`stayactive bench ingest`: simulated walkers → real broker → ingest workers → real database.

Four measurements in one run, on one machine:

1. **Sustained**: the devices publish at a fixed offered rate (default 3,000 frames/s) for the
   given seconds; committed frames/s, publish-to-commit latency per message (from each row's
   ``stored_at`` and the message's send time), messages lost and rows duplicated.
2. **Capacity**: a backlog queued at the broker while the workers are stopped, drained by them
   as fast as they go; meanwhile the CPU per frame of the workers, the local database and the
   broker (:mod:`stayactive.tools.bench.cpu`), and the rates those costs allow.
3. **Floor**: the same backlog drained by a naive consumer (one transaction per message).
4. **Ceiling**: the database work ingest cannot avoid, with nothing else: the same rows, by
   binary COPY into an empty hypertable like ``walker_frames``, each batch of the worker's size
   in a transaction of its own that first claims the batch's message keys in a table like
   ``message_keys`` (the same statement as ingest's). The ratio of (2) to this is ingest's own
   overhead. For comparison with earlier runs, also the old ceiling: one COPY of every row into
   a plain table, no keys, one transaction (``raw_copy_frames_per_s``).
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from firmware_sim.loadgen import FRAMES_PER_MESSAGE, TelemetryLoad
from firmware_sim.transport import Fleet, Publication
from ingest import FRAME_COLUMNS, WorkerConfig, claim_message_keys
from stayactive import db, registry, services
from stayactive.errors import ConfigurationError
from stayactive.mqtt import new_client
from stayactive.parent_death import die_with_parent
from stayactive.registry import NewDevice
from stayactive.services import mosquitto, postgres
from stayactive.settings import Settings
from stayactive.tools.bench.cpu import cpu_used, read_cpu, readable
from stayactive.tools.bench.naive import NaiveConsumer

log = logging.getLogger(__name__)

SCHEMA = "bench_ingest"
TENANT = "bench"


def _free_port() -> int:
    # Each worker's /metrics on a port the kernel picks: benchmarks of several checkouts on one
    # machine must not scrape each other's workers.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class IngestBenchConfig:
    """Parameters of one benchmark run."""

    devices: int = 200
    seconds: float = 30.0
    rate_frames_per_s: float = 3000.0
    workers: int = 1
    backlog_messages: int = 10000


@dataclass
class _Phase:
    published: dict[tuple[str, int], float] = field(default_factory=dict)  # (device, seq) → time
    acked: set[tuple[str, int]] = field(default_factory=set)


Progress = Callable[[str], None]


def run(settings: Settings, config: IngestBenchConfig, progress: Progress) -> dict[str, Any]:
    """Run all four measurements; return the figures (also the JSON of ``--json``)."""
    load = TelemetryLoad(seed=1)
    _check_backlog_fits(settings, load, config.backlog_messages)
    bench = settings.model_copy(update={"database_schema": SCHEMA})
    _fresh_schema(bench)
    passwords = _register(bench, config.devices)
    host, port = settings.mqtt_host_port()
    seq = dict.fromkeys(passwords, 0)
    fleet: Fleet[tuple[str, int]] = Fleet(host, port, max_in_flight=20)
    ports = [_free_port() for _ in range(config.workers)]
    workers = [_start_worker(bench, i, ports[i]) for i in range(config.workers)]
    try:
        progress(f"{config.devices} devices, {config.workers} ingest worker(s)")
        _wait_healthy(ports)
        for device_id, password in passwords.items():
            fleet.connect(device_id, password)
        fleet.wait_connected(list(passwords), timeout_s=60)

        progress(f"sustained: {config.rate_frames_per_s:.0f} frames/s for {config.seconds:.0f} s")
        sustained = _publish(fleet, load, seq, config, progress)
        with db.connect(bench, autocommit=True) as conn:
            _wait_stored(conn, len(sustained.acked), progress)
            figures = _sustained_figures(conn, sustained, config)
        figures["split"] = [_scrape(port, "stayactive_ingest_messages_total") for port in ports]

        progress(
            f"capacity: {config.backlog_messages} messages queued while the workers are stopped"
        )
        for proc in workers:
            _stop(proc)
        backlog = _publish_backlog(fleet, load, seq, config.backlog_messages)
        with db.connect(bench, autocommit=True) as conn:
            before = _stored_count(conn)
            workers = [_start_worker(bench, i, ports[i]) for i in range(config.workers)]
            # CPU from the moment the workers answer (their start-up is not ingest's work) to
            # the last commit, against the messages committed in between.
            _wait_healthy(ports, settle_s=0.0)
            groups = _cpu_groups(settings, workers)
            start, at_start = read_cpu(groups), _stored_count(conn)
            _wait_stored(conn, before + len(backlog.acked), progress)
            used = cpu_used(start, read_cpu(groups))
            drained = (_stored_count(conn) - at_start) * FRAMES_PER_MESSAGE
            figures["max_frames_per_s"] = _drain_rate(conn, backlog)
        figures.update(_cpu_figures(*used, drained, config.workers))
        # The cost of the (device, boot, seq) key table: its share of the time to commit.
        key_s = sum(_scrape(port, "stayactive_ingest_key_seconds_sum") for port in ports)
        commit_s = sum(_scrape(port, "stayactive_ingest_commit_seconds_sum") for port in ports)
        figures["key_share_of_commit"] = key_s / commit_s if commit_s else 0.0

        progress("floor: the naive consumer drains a backlog (the workers are stopped)")
        for proc in workers:
            _stop(proc)
        figures["naive_frames_per_s"] = _naive(bench, fleet, load, seq, config, passwords)
        progress("ceiling: the same rows and key claims by binary COPY, batch by batch")
        figures["copy_ceiling_frames_per_s"] = _copy_ceiling(bench)
        figures["raw_copy_frames_per_s"] = _raw_copy(bench)
    finally:
        fleet.close()
        for proc in workers:
            _stop(proc)
        _forget_sessions(settings, config.workers)
        services.broker_accounts(settings).remove(
            [*passwords, *(f"bench-ingest-{i}" for i in range(config.workers)), "bench-naive"]
        )
        with db.connect(settings, schema="public", autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SCHEMA)))
    figures["samples_per_s"] = figures["frames_per_s"] * load.samples_per_frame
    figures["ratio_vs_naive"] = figures["max_frames_per_s"] / figures["naive_frames_per_s"]
    figures["ratio_vs_ceiling"] = figures["max_frames_per_s"] / figures["copy_ceiling_frames_per_s"]
    figures["ratio_vs_raw_copy"] = figures["max_frames_per_s"] / figures["raw_copy_frames_per_s"]
    figures.update(
        devices=config.devices, workers=config.workers, seconds=config.seconds,
        offered_frames_per_s=config.rate_frames_per_s,
    )  # fmt: skip
    return figures


def _fresh_schema(bench: Settings) -> None:
    with db.connect(bench, schema="public", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SCHEMA)))
    db.migrate(bench, schema=SCHEMA)
    with db.connect(bench, autocommit=True) as conn:
        conn.execute("CREATE TABLE walker_frames_naive (LIKE walker_frames INCLUDING ALL)")
        conn.execute("CREATE TABLE walker_frames_raw (LIKE walker_frames INCLUDING ALL)")
        # The ceiling writes where ingest writes: a hypertable of the same chunks, and keys.
        conn.execute("CREATE TABLE walker_frames_ceiling (LIKE walker_frames INCLUDING ALL)")
        conn.execute(
            "SELECT create_hypertable('walker_frames_ceiling', by_range('time', INTERVAL '1 day'))"
        )
        conn.execute("CREATE TABLE message_keys_ceiling (LIKE message_keys INCLUDING ALL)")


def _register(bench: Settings, n: int) -> dict[str, str]:
    ids = [f"BENCH-{i:05d}" for i in range(n)]
    with db.connect(bench, autocommit=True) as conn:
        registry.ensure_tenant(conn, TENANT, "Benchmark")
        registry.upsert_devices(conn, TENANT, [NewDevice(d, "walker", "SN-" + d) for d in ids])
    passwords = {d: secrets.token_urlsafe(12) for d in ids}
    services.broker_accounts(bench).create_devices(passwords)
    return passwords


def _start_worker(bench: Settings, index: int, port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, STAYACTIVE_DATABASE_SCHEMA=SCHEMA)
    argv = [
        sys.executable, "-m", "stayactive", "ingest", "run",
        "--worker-id", f"bench-ingest-{index}", "--share-group", "bench",
        "--session-expiry-s", "600", "--metrics-port", str(port),
    ]  # fmt: skip
    # A benchmark stopped by a signal runs no clean-up: its workers must not stay behind,
    # draining the share group of the next run.
    return subprocess.Popen(
        argv,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=die_with_parent,
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status), response.read().decode()
    except OSError:
        return 0, ""


def _wait_healthy(ports: list[int], settle_s: float = 0.5) -> None:
    """Until every worker answers ``/health``, then ``settle_s`` for its SUBACK."""
    deadline = time.monotonic() + 60
    for i, port in enumerate(ports):
        while _get(f"http://127.0.0.1:{port}/health")[0] != 200:
            if time.monotonic() > deadline:
                raise RuntimeError(f"ingest worker {i} did not become healthy within 60 s")
            time.sleep(0.05)
    time.sleep(settle_s)


def _cpu_groups(settings: Settings, workers: list[subprocess.Popen[bytes]]) -> dict[str, list[int]]:
    """The processes whose CPU the capacity phase reads: the workers, and the local database
    cluster and broker where this machine runs them and this user can read their CPU time (an
    external or hidden one is left out, never counted as free)."""
    paths = services.paths_for(settings)
    groups = {"ingest": [w.pid for w in workers]}
    postmaster = postgres.postmaster_pid(paths) if settings.uses_local_database else None
    broker = mosquitto.broker_pid(paths) if settings.uses_local_broker else None
    for name, pid in (("database", postmaster), ("broker", broker)):
        if pid is not None and readable(pid):
            groups[name] = [pid]
    return groups


def _cpu_figures(
    used_s: dict[str, float], wall_s: float, frames: int, workers: int
) -> dict[str, Any]:
    """CPU per frame of each process group while draining, and the rates those costs bound:
    one worker's interpreter lock allows at most one core of its own Python (the few parts
    that release the lock aside), and the cores this process may run on carry at most all
    groups' CPU. The CPU window runs from the workers' ``/health`` to the end of the wait for
    the last commit, a little longer than the drain rate's first-to-last commit, so the cores
    used read a little low."""
    if frames <= 0 or wall_s <= 0:
        return {}
    per_frame_us = {name: 1e6 * cpu / frames for name, cpu in used_s.items()}
    cores = len(os.sched_getaffinity(0))
    return {
        "cpu_us_per_frame": per_frame_us,
        "cores_used": {name: cpu / wall_s for name, cpu in used_s.items()},
        "cores": cores,
        "one_worker_core_frames_per_s": workers * 1e6 / per_frame_us["ingest"],
        "machine_cores_frames_per_s": cores * 1e6 / sum(per_frame_us.values()),
    }


def _scrape(port: int, name: str) -> float:
    """The sum of a metric's samples (all its labels) on the worker at ``port``."""
    _status, text = _get(f"http://127.0.0.1:{port}/metrics")
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + " ") or line.startswith(name + "{")
    )


def _publish(
    fleet: Fleet[tuple[str, int]],
    load: TelemetryLoad,
    seq: dict[str, int],
    config: IngestBenchConfig,
    progress: Progress,
) -> _Phase:
    """Publish at the offered rate, round-robin over the devices, for ``config.seconds``."""
    phase = _Phase()
    fleet.on_delivered = lambda _device, tag: phase.acked.add(tag)
    devices = list(seq)
    per_s = config.rate_frames_per_s / FRAMES_PER_MESSAGE
    started = time.monotonic()
    sent = 0
    next_report = started + 5
    while (now := time.monotonic()) - started < config.seconds:
        due = int((now - started) * per_s) - sent
        for _ in range(due):
            device_id = devices[sent % len(devices)]
            if not fleet.can_publish(device_id):
                break  # the device's window is full: it sends later, the rate shows it
            phase.published[_send(fleet, load, seq, device_id)] = time.time()
            sent += 1
        fleet.poll(0.002)
        if now > next_report:
            next_report += 5
            progress(f"  {now - started:4.0f} s: {sent} published, {len(phase.acked)} acknowledged")
    deadline = time.monotonic() + 60
    while fleet.in_flight() and time.monotonic() < deadline:
        fleet.poll(0.01)
    return phase


def _send(
    fleet: Fleet[tuple[str, int]], load: TelemetryLoad, seq: dict[str, int], device_id: str
) -> tuple[str, int]:
    """Publish the device's next telemetry message, stamped now; return its (device, seq)."""
    seq[device_id] += 1
    key = (device_id, seq[device_id])
    payload = load.message(device_id, 1, key[1], datetime.now(UTC))
    fleet.publish(device_id, Publication(f"stayactive/v1/{device_id}/telemetry", payload), key)
    return key


def _check_backlog_fits(settings: Settings, load: TelemetryLoad, n: int) -> None:
    """Refuse a backlog the local broker would not queue for the stopped workers' session:
    beyond its limits it drops messages, and the run would wait for acknowledgements that
    never come."""
    size = len(load.message("bench-size", 1, 1, datetime.now(UTC)))
    limit = min(settings.mqtt_max_queued_bytes // size, settings.mqtt_max_queued_messages)
    if n > limit:
        raise ConfigurationError(
            f"--backlog {n} does not fit the broker's queue for one session: {n} messages of "
            f"{size / 1024:.1f} KiB against max_queued_bytes {settings.mqtt_max_queued_bytes} "
            f"and max_queued_messages {settings.mqtt_max_queued_messages}; at most {limit}, "
            "or raise STAYACTIVE_MQTT_MAX_QUEUED_BYTES and run `stayactive services up`"
        )


def _publish_backlog(
    fleet: Fleet[tuple[str, int]], load: TelemetryLoad, seq: dict[str, int], n: int
) -> _Phase:
    phase = _Phase()
    fleet.on_delivered = lambda _device, tag: phase.acked.add(tag)
    devices = list(seq)
    i = 0
    while i < n:
        device_id = devices[i % len(devices)]
        if fleet.can_publish(device_id):
            _send(fleet, load, seq, device_id)
            i += 1
        else:
            fleet.poll(0.001)
    while fleet.in_flight():
        fleet.poll(0.01)
    return phase


def _stored_count(conn: psycopg.Connection[TupleRow]) -> int:
    """Messages stored: their keys (the benchmark's devices send telemetry only). Counting
    ``walker_frames`` instead read the whole hypertable twenty times a second, and that load
    on the database showed in the capacity being measured."""
    row = conn.execute("SELECT count(*) FROM message_keys").fetchone()
    return int(row[0]) if row else 0


def _wait_stored(conn: psycopg.Connection[TupleRow], expected: int, progress: Progress) -> None:
    deadline = time.monotonic() + 300
    last = -1
    while (stored := _stored_count(conn)) < expected:
        if time.monotonic() > deadline:
            progress(f"  gave up waiting: {stored} of {expected} messages stored")
            return
        if stored == last:
            time.sleep(0.2)
        last = stored
        time.sleep(0.1)


def _drain_rate(conn: psycopg.Connection[TupleRow], phase: _Phase) -> float:
    """Frames per second between the first and the last commit of the backlog's rows (the
    workers' start-up before their first commit is not ingest's speed)."""
    devices = sorted({d for d, _s in phase.acked})
    first_seq = {d: min(s for dd, s in phase.acked if dd == d) for d in devices}
    rows = conn.execute(
        """SELECT count(*), min(stored_at), max(stored_at) FROM walker_frames f
           JOIN unnest(%s::text[], %s::bigint[]) AS b(device_id, first_seq)
             ON f.device_id = b.device_id AND f.seq >= b.first_seq""",
        (devices, [first_seq[d] for d in devices]),
    ).fetchone()
    assert rows is not None
    frames, first, last = rows
    return float(frames) / max(float((last - first).total_seconds()), 1e-6)


def _sustained_figures(
    conn: psycopg.Connection[TupleRow], phase: _Phase, config: IngestBenchConfig
) -> dict[str, Any]:
    rows = conn.execute(
        """SELECT device_id, seq, max(stored_at), count(*), count(DISTINCT frame_no)
           FROM walker_frames GROUP BY device_id, seq"""
    ).fetchall()
    stored = {(str(d), int(s)): (at, int(n), int(distinct)) for d, s, at, n, distinct in rows}
    latencies = np.array([
        stored[key][0].timestamp() - sent_s
        for key, sent_s in phase.published.items()
        if key in stored
    ])  # fmt: skip
    lost = len(phase.acked - stored.keys())
    duplicated = sum(n - distinct for _at, n, distinct in stored.values())
    first = min(phase.published.values())
    last = max(stored[k][0].timestamp() for k in phase.acked if k in stored)
    frames = sum(stored[k][1] for k in phase.acked if k in stored)
    return {
        "frames_per_s": frames / (last - first),
        "p50_latency_s": float(np.percentile(latencies, 50)),
        "p99_latency_s": float(np.percentile(latencies, 99)),
        "messages": len(phase.acked),
        "lost": lost,
        "duplicated": duplicated,
    }


def _naive(
    bench: Settings,
    fleet: Fleet[tuple[str, int]],
    load: TelemetryLoad,
    seq: dict[str, int],
    config: IngestBenchConfig,
    passwords: dict[str, str],
) -> float:
    n = max(config.backlog_messages // 4, 200)
    host, port = bench.mqtt_host_port()
    naive_password = mosquitto.ensure_worker_account(bench, "bench-naive")
    with db.connect(bench) as conn:
        consumer = NaiveConsumer(
            conn, host, port, ("bench-naive", naive_password),
            client_id="bench-naive", topic="$share/naive/stayactive/v1/+/telemetry",
        )  # fmt: skip
        consumer.start()  # creates the persistent session and subscription …
        consumer.stop()  # … which queues the backlog while it is away
        _publish_backlog(fleet, load, seq, n)
        consumer.start()
        deadline = time.monotonic() + 600
        while consumer.stored < n and time.monotonic() < deadline:
            time.sleep(0.05)
        consumer.stop()
        # Measured like the workers' capacity: first to last commit.
        row = conn.execute(
            "SELECT count(*), min(stored_at), max(stored_at) FROM walker_frames_naive"
        ).fetchone()
    assert row is not None
    frames, first, last = row
    if not frames:
        raise RuntimeError(f"the naive consumer stored nothing of {n} queued messages")
    return float(frames) / max(float((last - first).total_seconds()), 1e-6)


def _copy_ceiling(bench: Settings) -> float:
    """Frames/s of the database work ingest must do for the stored rows, and nothing else."""
    batch_messages = WorkerConfig().batch_max_messages
    columns = sql.SQL(", ").join(map(sql.Identifier, FRAME_COLUMNS))
    # No statement timeout: on a busy machine reading every row back can take a while.
    with db.connect(bench, autocommit=True, statement_timeout_s=0) as conn:
        data = bytearray()
        query = sql.SQL(
            "COPY (SELECT {} FROM walker_frames ORDER BY stored_at, device_id, boot, seq, frame_no)"
            " TO STDOUT (FORMAT BINARY)"
        ).format(columns)
        with conn.cursor().copy(query) as copy:
            for chunk in copy:
                data += chunk
        messages = _rows_by_message(bytes(data))
        shas = {
            (str(d), int(b), int(s)): bytes(sha)
            for d, b, s, sha in conn.execute(
                "SELECT device_id, boot, seq, payload_sha256 FROM message_keys"
            ).fetchall()
        }
        keys = list(messages)
        statement = sql.SQL("COPY walker_frames_ceiling ({}) FROM STDIN (FORMAT BINARY)").format(
            columns
        )
        started = time.monotonic()
        for i in range(0, len(keys), batch_messages):
            batch = sorted(keys[i : i + batch_messages])
            with conn.transaction():
                claim_message_keys(
                    conn, batch, [shas[k] for k in batch], table="message_keys_ceiling"
                )
                with conn.cursor().copy(statement) as copy:
                    copy.write(_COPY_HEADER + b"".join(r for k in batch for r in messages[k]))
                    copy.write(_COPY_TRAILER)
        elapsed = time.monotonic() - started
    return sum(len(rows) for rows in messages.values()) / elapsed


_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
_COPY_TRAILER = b"\xff\xff"


def _rows_by_message(data: bytes) -> dict[tuple[str, int, int], list[bytes]]:
    """Split a binary COPY stream of FRAME_COLUMNS into rows, grouped by (device, boot, seq)
    in the order of the stream (PostgreSQL docs, "COPY", "Binary Format")."""
    assert data.startswith(_COPY_HEADER[:11]), "not a binary COPY stream"
    (extension,) = struct.unpack_from("!i", data, 15)
    at = 19 + extension
    key_fields = [FRAME_COLUMNS.index(name) for name in ("device_id", "boot", "seq")]
    messages: dict[tuple[str, int, int], list[bytes]] = {}
    while True:
        (n_fields,) = struct.unpack_from("!h", data, at)
        if n_fields == -1:
            return messages
        start, at = at, at + 2
        values: list[bytes] = []
        for _ in range(n_fields):
            (size,) = struct.unpack_from("!i", data, at)
            at += 4
            values.append(data[at : at + max(size, 0)])
            at += max(size, 0)
        device, boot, seq = (values[i] for i in key_fields)
        key = (device.decode(), int.from_bytes(boot, "big"), int.from_bytes(seq, "big"))
        messages.setdefault(key, []).append(data[start:at])


def _raw_copy(bench: Settings) -> float:
    """The old ceiling: every stored row by one binary COPY into a plain table, no keys."""
    with db.connect(bench, autocommit=True, statement_timeout_s=0) as conn:
        data = bytearray()
        with conn.cursor().copy(
            "COPY (SELECT * FROM walker_frames) TO STDOUT (FORMAT BINARY)"
        ) as copy:
            for chunk in copy:
                data += chunk
        counted = conn.execute("SELECT count(*) FROM walker_frames").fetchone()
        rows = int(counted[0]) if counted else 0
        started = time.monotonic()
        with (
            conn.transaction(),
            conn.cursor().copy("COPY walker_frames_raw FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.write(bytes(data))
        return rows / (time.monotonic() - started)


def _forget_sessions(settings: Settings, workers: int) -> None:
    for client_id in [f"bench-ingest-{i}" for i in range(workers)] + ["bench-naive"]:
        client = new_client(client_id, *settings.ingest_credentials(client_id))
        client.connect(*settings.mqtt_host_port(), clean_start=True)
        client.loop_start()
        client.disconnect()
        client.loop_stop()
