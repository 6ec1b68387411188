"""`stayactive bench api`: the two reads the dashboard makes most, timed over HTTP.

Processing steps of :func:`run`:

1. A fresh schema ``bench_api`` in the configured database, seeded with one tenant: ``wards``
   wards of ``residents // wards`` residents each, every resident with a current stay, a walker
   and a year of resident-days (:mod:`stayactive.tools.bench.api_seed`).
2. The real API served on a free loopback port, a care-staff-like admin logged in.
3. Warm-up, then ``requests`` calls of each kind, one at a time: the ward overview of today
   (round robin over the wards; it evaluates the alerts and writes 25 audit rows each time) and
   a resident's days over the whole year (366 rows; one audit row).
4. The naive baseline in the same run, on one database connection and without HTTP, so the
   comparison flatters it: the overview as one query per resident and figure (days, trajectory,
   devices, last frame, alerts), the days as one query per day.
5. Percentiles (p50, p95) in milliseconds; the schema is dropped.
"""

from __future__ import annotations

import itertools
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from stayactive import db
from stayactive.api.serve import start_api
from stayactive.auth import hash_password
from stayactive.settings import Settings
from stayactive.tools.bench.api_seed import SeededTenant, seed_tenant

SCHEMA = "bench_api"
TENANT = "bench"
PASSWORD = "bench password long enough"
Progress = Callable[[str], None]


@dataclass(frozen=True)
class ApiBenchConfig:
    """Size of the run."""

    residents: int = 200
    wards: int = 8
    days: int = 365
    requests: int = 200
    seed: int = 1


def _percentiles(samples_ms: list[float]) -> tuple[float, float]:
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def _timed(call: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        out.append((time.perf_counter() - started) * 1000.0)
    return out


def run(settings: Settings, config: ApiBenchConfig, progress: Progress) -> dict[str, Any]:
    """Seed, serve, measure, drop (see the module docstring); return the figures."""
    # No savings report computed ahead: seconds of CPU in the background would be measured as
    # the latency of the reads below.
    bench = settings.model_copy(update={"database_schema": SCHEMA, "api_report_precompute_s": 0})
    # 1. SEED
    with db.connect(settings, schema="public", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SCHEMA)))
    db.migrate(bench, schema=SCHEMA)
    try:
        started = time.perf_counter()
        with db.connect(bench) as conn:
            seeded = seed_tenant(
                conn, TENANT, password_hash=hash_password(PASSWORD), wards=config.wards,
                residents_per_ward=max(1, config.residents // config.wards), days=config.days,
                seed=config.seed,
            )  # fmt: skip
            conn.commit()
            conn.execute("ANALYZE")
        n_days = len(seeded.resident_ids) * (config.days + 1)
        progress(
            f"seeded {len(seeded.resident_ids)} residents on {len(seeded.ward_ids)} wards, "
            f"{n_days} resident-days in {time.perf_counter() - started:.1f} s"
        )
        return _measure(bench, seeded, config, progress) | {
            "residents": len(seeded.resident_ids),
            "wards": len(seeded.ward_ids),
            "resident_days": n_days,
        }
    finally:
        with db.connect(settings, schema="public", autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SCHEMA)))


def _measure(
    bench: Settings, seeded: SeededTenant, config: ApiBenchConfig, progress: Progress
) -> dict[str, Any]:
    rng = random.Random(config.seed)
    today = date.today()
    start = today - timedelta(days=config.days)
    # 2. SERVE
    api = start_api(bench)
    try:
        with httpx.Client(base_url=api.url + "/api/v1", timeout=60) as client:
            r = client.post(
                "/auth/token", data={"username": f"{TENANT}-admin", "password": PASSWORD}
            )
            r.raise_for_status()
            client.headers["Authorization"] = "Bearer " + r.json()["access_token"]
            wards = itertools.cycle(seeded.ward_ids)

            def overview() -> None:
                client.get(f"/wards/{next(wards)}/overview").raise_for_status()

            def days() -> None:
                resident = rng.choice(seeded.resident_ids)
                client.get(
                    f"/residents/{resident}/days",
                    params={"from": start.isoformat(), "to": today.isoformat()},
                ).raise_for_status()

            # 3. WARM-UP, THEN MEASURE
            _timed(overview, 5)
            _timed(days, 5)
            progress(f"API on {api.url}: {config.requests} ward overviews, one at a time")
            ward_ms = _timed(overview, config.requests)
            progress(f"{config.requests} resident-days reads of {config.days + 1} days")
            resident_ms = _timed(days, config.requests)
    finally:
        api.stop()
    # 4. NAIVE BASELINE
    n_naive = max(20, config.requests // 5)
    with db.connect(bench) as conn:
        progress(f"naive baseline: {n_naive} of each, in-process, one query per figure")
        naive_wards = itertools.cycle(seeded.ward_ids)
        naive_ward_ms = _timed(lambda: naive_overview(conn, next(naive_wards), today), n_naive)
        naive_resident_ms = _timed(
            lambda: naive_days(conn, rng.choice(seeded.resident_ids), start, today), n_naive
        )
    # 5. FIGURES
    w50, w95 = _percentiles(ward_ms)
    r50, r95 = _percentiles(resident_ms)
    nw50, nw95 = _percentiles(naive_ward_ms)
    nr50, nr95 = _percentiles(naive_resident_ms)
    return {
        "requests": config.requests,
        "ward_p50_ms": round(w50, 1),
        "ward_p95_ms": round(w95, 1),
        "resident_p50_ms": round(r50, 1),
        "resident_p95_ms": round(r95, 1),
        "naive_ward_p50_ms": round(nw50, 1),
        "naive_ward_p95_ms": round(nw95, 1),
        "naive_resident_p50_ms": round(nr50, 1),
        "naive_resident_p95_ms": round(nr95, 1),
        "ward_ratio_vs_naive": round(nw95 / w95, 2),
        "resident_ratio_vs_naive": round(nr95 / r95, 2),
        "target_p95_ms": 100,
    }


_Conn = psycopg.Connection[TupleRow]


def naive_overview(conn: _Conn, ward_id: int, today: date) -> list[dict[str, Any]]:
    """What one writes first: the ward's residents, then per resident one query per figure."""
    residents = conn.execute(
        "SELECT resident_id, stay_id FROM stays WHERE ward_id = %s AND discharged_at IS NULL",
        (ward_id,),
    ).fetchall()
    out = []
    for resident_id, stay_id in residents:
        row: dict[str, Any] = {"resident_id": resident_id}
        row["series"] = [
            conn.execute(
                "SELECT steps_n, walking_min, coverage FROM resident_days "
                "WHERE resident_id = %s AND day = %s",
                (resident_id, today - timedelta(days=k)),
            ).fetchone()
            for k in range(14)
        ]
        row["trajectory"] = conn.execute(
            "SELECT * FROM stay_trajectories WHERE stay_id = %s", (stay_id,)
        ).fetchone()
        devices = conn.execute(
            "SELECT device_id FROM device_assignments WHERE resident_id = %s AND valid @> now()",
            (resident_id,),
        ).fetchall()
        row["devices"] = [
            (
                conn.execute(
                    "SELECT * FROM device_latest_status WHERE device_id = %s", (d,)
                ).fetchone(),
                conn.execute(
                    "SELECT max(time) FROM walker_frames WHERE device_id = %s", (d,)
                ).fetchone(),
            )
            for (d,) in devices
        ]
        row["alerts"] = conn.execute(
            "SELECT * FROM alerts WHERE resident_id = %s AND resolved_at IS NULL", (resident_id,)
        ).fetchall()
        out.append(row)
    return out


def naive_days(conn: _Conn, resident_id: int, start: date, end: date) -> list[Any]:
    """A resident's days as a loop over the dates, one query each."""
    out = []
    day = start
    while day <= end:
        out.append(
            conn.execute(
                "SELECT * FROM resident_days WHERE resident_id = %s AND day = %s",
                (resident_id, day),
            ).fetchone()
        )
        day += timedelta(days=1)
    return out
