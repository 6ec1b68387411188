"""`stayactive bench analytics`, end to end: simulated walkers → ingest → TimescaleDB → runner.

1. **Store.** A ward of residents, one walker each, on stays of :data:`DAYS_PER_STAY` days.
   ``distinct_days`` resident-days are simulated (about two hours of walking each, like the
   compute-only benchmark), built into protocol messages by the simulated firmware, decoded
   and validated by ingest and written by ingest's own writer (binary COPY through its
   staging tables). Every further resident-day is a copy of the rows ingest wrote for one of
   those, re-stamped to its date and walker in SQL, so the database holds ``days``
   resident-days in ingest's layout while the simulator and ingest run ``distinct_days``
   times (at ~9,000 frames a heavy day, storing 400 through ingest would take most of the
   benchmark's time on a shared machine).
2. **Run.** The analytics runner (:class:`~analytics.runner.AnalyticsRunner`) computes them
   all in one pass, in a process of its own so that its peak RSS is its own: mark, read
   (one COPY per resident-day), compute, write, stay trajectories.

The figure is resident-days computed per second of the runner's pass, with where the time
went. The schema is dropped afterwards unless asked to keep it.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import resource
import time as clock
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from analytics.mobility import DEFAULT_TZ
from ingest import DeviceInfo, WalkerTelemetry, ingest_one
from stayactive import db, registry
from stayactive.records import CareRecord, ImportReport, write_care_record
from stayactive.registry import NewDevice
from stayactive.services import paths_for
from stayactive.settings import Settings
from stayactive.tools.bench.analytics import BenchConfig, simulated_days

__all__ = ["DAYS_PER_STAY", "SCHEMA", "EndToEndConfig", "run"]

SCHEMA = "bench_analytics"
TENANT = "bench"
SITE = "Bench site"
WARD = "Bench ward"
DAYS_PER_STAY = 10

Progress = Callable[[str], None]


@dataclass(frozen=True)
class EndToEndConfig:
    """What to store and compute.

    Attributes
    ----------
    days : int
        Resident-days stored and computed.
    distinct_days : int
        Resident-days simulated; the others re-use their frames.
    walking_min : float or None
        Walking per simulated resident-day (None: the simulator's routine decides).
    seed : int
    keep : bool
        Keep the schema (``bench_analytics``) afterwards for inspection.
    """

    days: int = 40
    distinct_days: int = 5
    walking_min: float | None = 120.0
    seed: int = 1
    keep: bool = False


def run(settings: Settings, config: EndToEndConfig, progress: Progress) -> dict[str, Any]:
    """Store, then run the runner; return the figures (keys prefixed ``end_to_end_``)."""
    bench = settings.model_copy(update={"database_schema": SCHEMA})
    _fresh_schema(bench)
    try:
        t0 = clock.perf_counter()
        stored = _store(bench, config, progress)
        store_s = clock.perf_counter() - t0
        progress(f"stored {config.days} resident-days ({stored['frames']} frames) in "
                 f"{store_s:.0f} s; running the analytics runner")  # fmt: skip
        server_cpu0 = _server_cpu_s(bench)
        ran = _run_runner(bench)
        server_cpu1 = _server_cpu_s(bench)
    finally:
        if not config.keep:
            _drop_schema(bench)
    computed = ran["computed"]
    server_cpu_s = (
        server_cpu1 - server_cpu0 if server_cpu0 is not None and server_cpu1 is not None else None
    )
    seconds = ran["seconds"]
    per_day_ms = {k: 1000.0 * ran[k] / max(computed, 1) for k in ("read_s", "compute_s", "write_s")}
    other_s = seconds - ran["mark_s"] - ran["read_s"] - ran["compute_s"] - ran["write_s"]
    return {
        "end_to_end_resident_days_per_s": computed / seconds if seconds > 0 else float("nan"),
        "end_to_end_days": computed,
        "end_to_end_seconds": seconds,
        "end_to_end_read_ms_per_day": per_day_ms["read_s"],
        "end_to_end_read_cpu_ms_per_day": 1000.0 * ran["read_cpu_s"] / max(computed, 1),
        "end_to_end_compute_ms_per_day": per_day_ms["compute_s"],
        "end_to_end_compute_cpu_ms_per_day": 1000.0 * ran["compute_cpu_s"] / max(computed, 1),
        "end_to_end_write_ms_per_day": per_day_ms["write_s"],
        "end_to_end_other_ms_per_day": 1000.0 * other_s / max(computed, 1),
        "end_to_end_mark_s": ran["mark_s"],
        "end_to_end_cpu_s": ran["cpu_s"],
        # The local database's CPU over the pass (all its processes; None for a remote one):
        # with the runner's, what one resident-day costs whatever else shares the machine.
        "end_to_end_server_cpu_s": server_cpu_s,
        "end_to_end_resident_days_per_cpu_s": computed / (ran["cpu_s"] + (server_cpu_s or 0.0)),
        "end_to_end_peak_rss_mb": ran["peak_rss_mb"],
        "end_to_end_rss_before_mb": ran["baseline_rss_mb"],
        "end_to_end_trajectories": ran["trajectories"],
        "end_to_end_frames_per_day": stored["frames"] / max(config.days, 1),
        "end_to_end_store_s": store_s,
    }


def _db_clock(conn: psycopg.Connection[TupleRow]) -> datetime:
    row = conn.execute("SELECT clock_timestamp()").fetchone()
    assert row is not None
    value: datetime = row[0]
    return value


def _server_cpu_s(settings: Settings) -> float | None:
    """CPU seconds the local PostgreSQL has used so far (its processes, and the ones that
    ended), from /proc; None when the database is not local or /proc cannot tell."""
    if not settings.uses_local_database:
        return None
    try:
        pid_file = paths_for(settings).pg_data / "postmaster.pid"
        postmaster = int(pid_file.read_text().split()[0])
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # ended meanwhile
                continue
            pid, ppid = int(entry.name), int(fields[1])
            if pid == postmaster:  # its own, and that of the children it has reaped
                total += sum(int(f) for f in fields[11:15])
            elif ppid == postmaster:
                total += int(fields[11]) + int(fields[12])
        return total / tick
    except (OSError, ValueError, IndexError):
        return None


def _fresh_schema(settings: Settings) -> None:
    _drop_schema(settings)
    db.migrate(settings, schema=SCHEMA)


def _drop_schema(settings: Settings) -> None:
    with db.connect(settings, schema="public", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SCHEMA)))


def _store(settings: Settings, config: EndToEndConfig, progress: Progress) -> dict[str, int]:
    """Register the ward and store the resident-days; see the module docstring."""
    from firmware_sim.device import SimDevice

    tz = ZoneInfo(DEFAULT_TZ)
    n_residents = math.ceil(config.days / DAYS_PER_STAY)
    # Stays end yesterday, so the runner finds every day complete.
    first = datetime.now(tz).date() - timedelta(days=DAYS_PER_STAY + 1)
    walkers = [f"W-bench-{i:04d}" for i in range(n_residents)]
    # (walker, local date) of each stored resident-day, resident by resident.
    slots = [(walkers[i // DAYS_PER_STAY], first + timedelta(days=i % DAYS_PER_STAY))
             for i in range(config.days)]  # fmt: skip
    with db.connect(settings, autocommit=True) as conn:
        # Benchmark data need not wait for the disk at every message's commit.
        conn.execute("SET synchronous_commit = off")
        _register(conn, walkers, config.days, first, tz)
        frames_total = 0
        # The first stay's days are the simulated ones, stored by ingest; the others copies.
        distinct = min(config.distinct_days, config.days, DAYS_PER_STAY)
        simulated = simulated_days(
            BenchConfig(days=distinct, walking_min=config.walking_min, seed=config.seed),
            first_day=first,
        )
        for k, (_day, signals, _walked_s) in enumerate(simulated):
            # One boot per simulated day (the walker restarts overnight): the same (boot, seq)
            # on two days would be a key conflict, and ingest keeps only the first copy.
            device = SimDevice(
                walkers[0], "walker", np.random.default_rng(config.seed + k), boot=k + 1
            )
            began = _db_clock(conn)
            sent = _ingest_day(conn, device, signals)
            stored = (began, _db_clock(conn))
            _check_stored(conn, walkers[0], stored, sent)
            frames_total += sent
            copies = slots[k + distinct :: distinct]
            for walker, day in copies:
                shift = timedelta(days=(day - slots[k][1]).days)
                frames_total += _copy_day(conn, walkers[0], stored, shift, walker)
            progress(f"  simulated day {k + 1}/{distinct} stored by ingest, and "
                     f"{len(copies)} copies of it")  # fmt: skip
    return {"frames": frames_total}


def _register(
    conn: psycopg.Connection[TupleRow],
    walkers: list[str],
    n_resident_days: int,
    first: date,
    tz: ZoneInfo,
) -> None:
    """The ward's residents, stays (through the care-record writer) and walkers."""
    registry.ensure_tenant(conn, TENANT, "Benchmark municipality")
    ward = registry.ensure_ward(conn, TENANT, SITE, WARD).ward_id
    registry.upsert_devices(
        conn, TENANT, [NewDevice(w, "walker", "SN-" + w, ward_id=ward) for w in walkers]
    )
    start = datetime.combine(first, datetime.min.time(), tzinfo=tz)
    report = ImportReport()
    for i, walker in enumerate(walkers):
        # Discharged in the evening of the stay's last day, so the stay has no day without
        # data (its days are those stored); what the walker sends after 22:00 is not counted.
        n_days = min(DAYS_PER_STAY, n_resident_days - i * DAYS_PER_STAY)
        end = datetime.combine(first + timedelta(days=n_days - 1), time(22), tzinfo=tz)
        stay = CareRecord(
            line=i + 1, external_ref=f"bench-stay-{i:04d}", resident=f"bench-{i:04d}",
            birth_year=1940, sex="unknown", site=SITE, ward=WARD, ward_go_live_on=None,
            admitted_at=start, discharged_at=end, stay_type=19, destination="home",
            consent_evaluation=True, consent_open_data=False, gait_speed_mps=None,
            hospital_admission_at=None, consent_care=True,  # the runner computes only these
        )  # fmt: skip
        write_care_record(conn, TENANT, stay, report)
        resident = registry.find_resident(conn, TENANT, stay.resident)
        assert resident is not None
        registry.assign_device(conn, TENANT, walker, resident, start, end)


def _ingest_day(conn: psycopg.Connection[TupleRow], device: Any, signals: Any) -> int:
    """Send the day through ingest as the simulated firmware builds it: each message decoded,
    validated and stored by :func:`ingest.ingest_one` (the path of the HTTP fallback, with
    the MQTT worker's checks and writer). Returns the frames stored."""

    def lookup(device_id: str) -> DeviceInfo:
        return DeviceInfo(device_id, TENANT, "walker", True)

    frames = 0
    for out in device.telemetry(signals):
        item = ingest_one(
            conn, lookup, out.publication.topic, out.publication.payload,
            retention=timedelta(days=3650),
        )  # fmt: skip
        if not isinstance(item, WalkerTelemetry):
            raise RuntimeError(f"ingest refused a simulated message: {item}")
        frames += len(item.frames)
    return frames


def _check_stored(
    conn: psycopg.Connection[TupleRow], walker: str, stored: tuple[datetime, datetime], sent: int
) -> None:
    """Fail unless ingest stored every frame it accepted: a key conflict or a duplicate is
    recorded, not raised, and would leave the benchmark measuring emptier days than it says."""
    row = conn.execute(
        "SELECT count(*) FROM walker_frames WHERE device_id = %s AND stored_at BETWEEN %s AND %s",
        (walker, *stored),
    ).fetchone()
    kept = row[0] if row is not None else 0
    if kept != sent:
        reasons = conn.execute(
            "SELECT reason, count(*) FROM ingest_rejects WHERE device_id = %s"
            " AND received_at BETWEEN %s AND %s GROUP BY reason",
            (walker, *stored),
        ).fetchall()
        raise RuntimeError(
            f"ingest stored {kept} of the {sent} frames sent for {walker}; rejects: "
            + (", ".join(f"{reason} {n}" for reason, n in reasons) or "none")
        )


def _copy_day(
    conn: psycopg.Connection[TupleRow],
    source_walker: str,
    stored: tuple[datetime, datetime],
    shift: timedelta,
    walker: str,
) -> int:
    """Copy the rows ingest stored for ``source_walker`` in the interval ``stored`` as
    ``walker``'s, ``shift`` later.

    Byte for byte the rows ingest wrote, re-stamped in SQL: storing every resident-day
    through ingest would take most of the benchmark's time on a shared machine.
    """
    cur = conn.execute(
        """INSERT INTO walker_frames (time, device_id, tenant_id, boot, seq, frame_no, rate_hz,
                                      samples, brake_mask, received_at)
           SELECT time + %(shift)s, %(walker)s, tenant_id, boot, seq, frame_no, rate_hz,
                  samples, brake_mask, received_at
           FROM walker_frames
           WHERE device_id = %(source)s AND stored_at BETWEEN %(from)s AND %(to)s""",
        {"shift": shift, "walker": walker, "source": source_walker,
         "from": stored[0], "to": stored[1]},
    )  # fmt: skip
    return max(cur.rowcount, 0)


def _peak_rss_mb() -> float:
    """This process's peak resident set size (MB). From /proc's VmHWM where there is one:
    ru_maxrss survives exec, so a spawned child would report its parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _run_runner(settings: Settings) -> dict[str, Any]:
    """One runner pass in a fresh process; its report, CPU time and peak RSS."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        result: dict[str, Any] = pool.apply(_runner_pass, (settings.model_dump(),))
    return result


def _runner_pass(settings_values: dict[str, Any]) -> dict[str, Any]:
    """In the child: mark and compute everything; report where the time went."""
    from analytics.runner import AnalyticsRunner

    settings = Settings(**settings_values)
    baseline_mb = _peak_rss_mb()
    cpu0 = clock.process_time()
    # Everything was stored just now: this pass marks it all rather than waiting 30 s.
    runner = AnalyticsRunner(settings, progress=lambda _line: None, safety_lag=timedelta(0))
    report = runner.run_once()
    peak = _peak_rss_mb()
    return {
        "computed": report.computed,
        "trajectories": report.trajectories,
        "seconds": report.seconds,
        "read_s": report.times.read_s,
        "read_cpu_s": report.times.read_cpu_s,
        "compute_cpu_s": report.times.compute_cpu_s,
        "compute_s": report.times.compute_s,
        "write_s": report.times.write_s,
        "mark_s": report.times.mark_s,
        "cpu_s": clock.process_time() - cpu0,
        "peak_rss_mb": peak,
        "baseline_rss_mb": baseline_mb,
    }
