"""A tenant with wards, users, residents, stays, devices and resident-days, straight into the
database: the API's benchmark and tests start from it.

Everything is written with plain SQL and COPY (no analytics run, no simulator): the figures
are random but plausible (about 1 500 steps a day, gait speed 0.4-1.0 m/s, a few days without
data), seeded, so a run is repeatable. Users of every role share one password hash, so seeding
costs one argon2 hash, not one per user.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import psycopg
from psycopg.rows import TupleRow

from stayactive import registry
from stayactive.auth import Role, new_api_key

_Conn = psycopg.Connection[TupleRow]


@dataclass
class SeededTenant:
    """What was seeded: ids to ask the API about, and who can log in."""

    tenant_id: str
    ward_ids: list[int]
    resident_ids: list[int]
    residents_by_ward: dict[int, list[int]]
    device_ids: list[str]
    users: dict[str, Role] = field(default_factory=dict)
    stay_ids: list[int] = field(default_factory=list)
    #: Integrators' API keys by name (the integrator calls the API with ``X-API-Key``).
    api_keys: dict[str, str] = field(default_factory=dict)


def seed_tenant(
    conn: _Conn,
    tenant_id: str,
    *,
    password_hash: str,
    wards: int = 2,
    residents_per_ward: int = 3,
    days: int = 30,
    today: date | None = None,
    time_zone: str = "Europe/Oslo",
    seed: int = 1,
    frames_days: int = 8,
) -> SeededTenant:
    """Seed ``tenant_id`` in the connection's schema (committed by the caller).

    Users: ``<tenant>-admin``, ``<tenant>-care`` (scope: the first ward), ``<tenant>-care2``
    (the second ward, if any), ``<tenant>-finance``, and ``<tenant>-integrator``, an account
    with the integrator role as one made before such accounts were refused (its password login
    fails); the integrator calls with the API key of the same name (``api_keys``). Each resident has
    a current stay on their ward, admitted 5-40 days before ``today``, a walker assigned since
    admission, resident-days for the last ``days`` days and a trajectory.
    """
    rng = np.random.default_rng(seed)
    tz = ZoneInfo(time_zone)
    today = today or datetime.now(tz).date()
    now = datetime.now(UTC)
    registry.ensure_tenant(conn, tenant_id, f"Kommune {tenant_id}", time_zone)
    out = SeededTenant(tenant_id, [], [], {}, [])
    for w in range(wards):
        site = f"Sykehjem {w // 4 + 1}"
        ward_id = registry.ensure_ward(
            conn, tenant_id, site, f"Korttid {w + 1}", date(2025, 1, 1)
        ).ward_id
        out.ward_ids.append(ward_id)
        out.residents_by_ward[ward_id] = []
    users: list[tuple[str, Role, list[int]]] = [
        (f"{tenant_id}-admin", "admin", []),
        (f"{tenant_id}-care", "care_staff", out.ward_ids[:1]),
        (f"{tenant_id}-finance", "finance", []),
        (f"{tenant_id}-integrator", "integrator", []),
    ]
    if len(out.ward_ids) > 1:
        users.append((f"{tenant_id}-care2", "care_staff", out.ward_ids[1:2]))
    for username, role, scope in users:
        row = conn.execute(
            """INSERT INTO users (tenant_id, username, role, password_hash)
               VALUES (%s, %s, %s, %s) RETURNING user_id""",
            (tenant_id, username, role, password_hash),
        ).fetchone()
        assert row is not None
        for ward_id in scope:
            conn.execute(
                "INSERT INTO user_ward_scope (tenant_id, user_id, ward_id) VALUES (%s, %s, %s)",
                (tenant_id, row[0], ward_id),
            )
        out.users[username] = role
    key_id, key, secret_sha256 = new_api_key()
    conn.execute(
        """INSERT INTO api_keys (key_id, tenant_id, name, secret_sha256, created_by)
           VALUES (%s, %s, %s, %s, 'seed')""",
        (key_id, tenant_id, f"{tenant_id}-integrator", secret_sha256),
    )
    out.api_keys[f"{tenant_id}-integrator"] = key
    day_rows: list[tuple[object, ...]] = []
    for ward_id in out.ward_ids:
        for i in range(residents_per_ward):
            pseudonym = f"{tenant_id[:8]}-w{ward_id}-r{i:03d}"
            resident_id = registry.ensure_resident(
                conn, tenant_id, pseudonym, int(rng.integers(1925, 1950)), "female"
            )
            out.resident_ids.append(resident_id)
            out.residents_by_ward[ward_id].append(resident_id)
            admitted_day = today - timedelta(days=int(rng.integers(5, 41)))
            admitted = datetime.combine(admitted_day, time(10, 0), tz)
            stay = conn.execute(
                """INSERT INTO stays (tenant_id, resident_id, ward_id, admitted_at, stay_type,
                                      external_ref)
                   VALUES (%s, %s, %s, %s, 18, %s) RETURNING stay_id""",
                (tenant_id, resident_id, ward_id, admitted, f"{pseudonym}-stay"),
            ).fetchone()
            assert stay is not None
            out.stay_ids.append(int(stay[0]))
            device_id = f"W-{tenant_id[:8]}-{ward_id}-{i:03d}"
            registry.upsert_devices(
                conn,
                tenant_id,
                [registry.NewDevice(device_id, "walker", "SN-" + device_id, ward_id)],
            )
            out.device_ids.append(device_id)
            registry.assign_device(conn, tenant_id, device_id, resident_id, admitted, None)
            # Care consent over every seeded day (the API shows resident-days only under it).
            conn.execute(
                """INSERT INTO consents (tenant_id, resident_id, purpose, valid, source)
                   VALUES (%s, %s, 'care', tstzrange(%s, NULL), 'seed')""",
                (tenant_id, resident_id, datetime.combine(today - timedelta(days=days + 1),
                                                          time(0), tz)),
            )  # fmt: skip
            _status(conn, tenant_id, device_id, now, rng)
            level = float(rng.uniform(600, 2500))
            speed = float(rng.uniform(0.4, 1.0))
            for k in range(days, -1, -1):
                day = today - timedelta(days=k)
                has = bool(rng.random() > 0.08)
                steps = int(max(0, rng.normal(level, level * 0.25))) if has else None
                walking = steps / 95.0 if steps is not None else None
                day_rows.append(
                    (
                        tenant_id, resident_id, day, "bench", device_id, has, False,
                        float(rng.uniform(0.6, 0.98)) if has else 0.0, steps, walking,
                        float(speed + rng.normal(0, 0.04)) if has else None,
                    )
                )  # fmt: skip
            conn.execute(
                """INSERT INTO stay_trajectories (stay_id, tenant_id, metric_version, n_days,
                       n_days_with_data, gait_speed_baseline_mps, gait_speed_latest_mps,
                       gait_speed_change_mps, gait_speed_slope_per_day, gait_speed_slope_low,
                       gait_speed_slope_high, gait_speed_change_class, declining_3d,
                       steps_declining_3d)
                   VALUES (%s, %s, 'bench', %s, %s, %s, %s, %s, %s, %s, %s,
                           'no_meaningful_change', %s, false)""",
                (
                    stay[0], tenant_id, (today - admitted_day).days + 1,
                    (today - admitted_day).days, speed - 0.05, speed, 0.05, 0.003, -0.001,
                    0.007, i % 7 == 3,
                ),
            )  # fmt: skip
            _frames(conn, tenant_id, device_id, today, tz, frames_days, i)
    with conn.cursor().copy(
        """COPY resident_days (tenant_id, resident_id, day, metric_version, device_id,
               walker_data, robot_data, coverage, steps_n, walking_min, gait_speed_median_mps)
           FROM STDIN"""
    ) as copy:
        for r in day_rows:
            copy.write_row(r)
    return out


def _status(
    conn: _Conn, tenant_id: str, device_id: str, now: datetime, rng: np.random.Generator
) -> None:
    battery = float(rng.uniform(10, 100))
    conn.execute(
        """INSERT INTO device_latest_status (device_id, tenant_id, last_seen_at, status_time,
               status_received_at, state, battery_pct, charging, firmware)
           VALUES (%s, %s, %s, %s, %s, 'online', %s, false, '1.4.2')""",
        (device_id, tenant_id, now, now, now, battery),
    )


def _frames(
    conn: _Conn, tenant_id: str, device_id: str, today: date, tz: ZoneInfo, n_days: int, i: int
) -> None:
    # One small frame at a few times of each recent day: enough for "last activity".
    rows = []
    for k in range(n_days):
        for hour in (8, 12, 16):
            t = datetime.combine(today - timedelta(days=k), time(hour, 5 + i % 50), tz)
            if t > datetime.now(UTC):
                continue
            rows.append((t, device_id, tenant_id, 1, k * 10 + hour, 0, 50.0, t))
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO walker_frames (time, device_id, tenant_id, boot, seq, frame_no, rate_hz,
                   acc_x, acc_y, acc_z, gyro_x, gyro_y, gyro_z, odo_l, odo_r, force_l, force_r,
                   brake, received_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, '{0}', '{0}', '{9.81}', '{0}', '{0}', '{0}',
                       '{0.01}', '{0.01}', '{50}', '{50}', '{f}', %s)""",
            rows,
        )
