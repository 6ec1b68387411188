"""The analytics runner's SQL: what changed, the inputs of a resident-day, the derived rows."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from analytics.mobility import ResidentDayMetrics, RobotEvent, StayTrajectory

_Conn = psycopg.Connection[TupleRow]

#: Columns of resident_days filled from ResidentDayMetrics (all its fields but the pseudonym).
DAY_FIELDS = tuple(f.name for f in dataclasses.fields(ResidentDayMetrics) if f.name != "pseudonym")
#: A status counts as "monitoring" until the next one if they are at most this far apart.
STATUS_GAP_S = 600.0
#: Robot events this far either side of a resident-day are read with it (a session that
#: starts before midnight and the events that close it).
ROBOT_CONTEXT = timedelta(hours=3)


@dataclass(frozen=True)
class Resident:
    """Who a resident-day belongs to."""

    resident_id: int
    tenant_id: str
    pseudonym: str
    time_zone: str


@dataclass(frozen=True)
class Assignment:
    device_id: str
    start: datetime
    end: datetime | None


@dataclass(frozen=True)
class StayRow:
    stay_id: int
    tenant_id: str
    resident_id: int
    admitted_on: date
    discharged_on: date | None


def lock(conn: _Conn, schema: str) -> bool:
    """Take the runner's advisory lock for this schema without waiting; True if taken."""
    row = conn.execute(
        "SELECT pg_try_advisory_lock(hashtext(%s))", (f"stayactive-analytics:{schema}",)
    ).fetchone()
    return bool(row and row[0])


def unlock(conn: _Conn, schema: str) -> None:
    conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (f"stayactive-analytics:{schema}",))


def mark_new_data(conn: _Conn, until: datetime, context: timedelta) -> int:
    """Mark the resident-days that raw data stored since the last run touch; move the
    watermarks to ``until``. Return how many resident-days were marked.

    A resident-day is computed from more than its own hours, so data arriving late marks every
    day that read it: frames starting within ``context`` of the assigned part of the day (the
    detectors' context on both sides), statuses up to ``STATUS_GAP_S`` before it (the
    monitored interval they open) and robot events within ``ROBOT_CONTEXT`` of it.
    """
    marked = 0
    with conn.transaction():
        marked += _mark_device_spans(conn, "walker_frames", context, context, until)
        gap = timedelta(seconds=STATUS_GAP_S)
        marked += _mark_device_spans(conn, "device_status", timedelta(0), gap, until)
        events_from = _watermark(conn, "robot_events")
        # An event counts for the residents it names, and a session's end for everybody its
        # session named. Set-based, pseudonyms joined by equality: testing every resident
        # against every event (with a scan of the session's events for each pair) passed the
        # statement timeout at the demo's size (13,000 events, 700 residents).
        cur = conn.execute(
            """WITH new AS (
                   SELECT tenant_id, session_id, event, time, body FROM robot_events
                   WHERE stored_at > %(from)s AND stored_at <= %(until)s
               ), naming AS (
                   SELECT tenant_id, time, body FROM new
                   UNION ALL
                   SELECT e.tenant_id, e.time, s.body FROM new e
                   JOIN robot_events s ON s.tenant_id = e.tenant_id AND s.session_id = e.session_id
                   WHERE e.event = 'session_end'
               )
               INSERT INTO analytics_dirty (resident_id, day)
               SELECT DISTINCT r.resident_id, (d.t AT TIME ZONE tn.time_zone)::date
               FROM naming b
               CROSS JOIN LATERAL (
                   SELECT b.body->>'participant'
                   UNION ALL
                   SELECT jsonb_array_elements_text(CASE WHEN jsonb_typeof(b.body->'participants')
                       = 'array' THEN b.body->'participants' ELSE '[]'::jsonb END)
               ) AS p(pseudonym)
               JOIN residents r ON r.tenant_id = b.tenant_id AND r.pseudonym = p.pseudonym
               JOIN tenants tn ON tn.tenant_id = b.tenant_id
               CROSS JOIN LATERAL (VALUES (b.time - %(context)s), (b.time + %(context)s)) AS d(t)
               ON CONFLICT DO NOTHING""",
            {"context": ROBOT_CONTEXT, "from": events_from, "until": until},
        )
        marked += max(cur.rowcount, 0)
        conn.execute(
            """INSERT INTO analytics_watermark (source, stored_to)
               VALUES ('walker_frames', %(t)s), ('robot_events', %(t)s), ('device_status', %(t)s)
               ON CONFLICT (source) DO UPDATE SET stored_to = excluded.stored_to""",
            {"t": until},
        )
    return marked


def _mark_device_spans(
    conn: _Conn, table: str, before: timedelta, after: timedelta, until: datetime
) -> int:
    """Mark the resident-days that rows of ``table`` stored since its watermark touch: each
    row is read for the instants from ``before`` ahead of its time to ``after`` behind it,
    inside the assignments of its device. Rows are looked at per device and hour, not one by
    one (a resident-day holds up to ~10,000 frames); an hour's span holds at most one local
    midnight, so the local dates of its ends are all the dates it touches."""
    cur = conn.execute(
        sql.SQL(
            """INSERT INTO analytics_dirty (resident_id, day)
               SELECT DISTINCT a.resident_id, (d.t AT TIME ZONE tn.time_zone)::date
               FROM (SELECT device_id, min(time) - %(before)s AS t0, max(time) + %(after)s AS t1
                     FROM {table} WHERE stored_at > %(from)s AND stored_at <= %(until)s
                     GROUP BY device_id, date_bin('1 hour', time, '2000-01-01 00:00Z')) AS f
               JOIN device_assignments a ON a.device_id = f.device_id
                AND a.valid && tstzrange(f.t0, f.t1, '[]')
               JOIN tenants tn ON tn.tenant_id = a.tenant_id
               CROSS JOIN LATERAL (VALUES (greatest(f.t0, lower(a.valid))),
                   (least(f.t1, upper(a.valid) - interval '1 microsecond'))) AS d(t)
               ON CONFLICT DO NOTHING"""
        ).format(table=sql.Identifier(table)),
        {"before": before, "after": after, "from": _watermark(conn, table), "until": until},
    )
    return max(cur.rowcount, 0)


def _watermark(conn: _Conn, source: str) -> datetime:
    row = conn.execute(
        "SELECT stored_to FROM analytics_watermark WHERE source = %s", (source,)
    ).fetchone()
    return row[0] if row else datetime.fromisoformat("1970-01-01T00:00:00+00:00")


def mark_stale_versions(conn: _Conn, version: str) -> int:
    """Mark resident-days computed with another metric version."""
    cur = conn.execute(
        """INSERT INTO analytics_dirty (resident_id, day)
           SELECT resident_id, day FROM resident_days WHERE metric_version <> %s
           ON CONFLICT DO NOTHING""",
        (version,),
    )
    return max(cur.rowcount, 0)


def mark_since(conn: _Conn, since: date) -> int:
    """Mark every day since ``since`` of every stay (to recompute them)."""
    cur = conn.execute(
        """INSERT INTO analytics_dirty (resident_id, day)
           SELECT s.resident_id, d::date
           FROM stays s JOIN tenants t USING (tenant_id)
           CROSS JOIN LATERAL generate_series(
               greatest((s.admitted_at AT TIME ZONE t.time_zone)::date, %(since)s),
               (coalesce(s.discharged_at, now()) AT TIME ZONE t.time_zone)::date,
               interval '1 day') AS d
           ON CONFLICT DO NOTHING""",
        {"since": since},
    )
    return max(cur.rowcount, 0)


#: The one test of which resident-days may be computed: a care consent, not withdrawn, valid
#: during the local day (the SQL function of migration 0015; docs/privacy.md).
CONSENTED_DAY = "care_consent_covers(resident_id, day)"


def exclude_unconsented(conn: _Conn) -> int:
    """Take the marked resident-days that no care consent covers off the to-do list (and any
    resident-day stored for them); return how many, for the run's report."""
    with conn.transaction():
        cur = conn.execute(
            f"""DELETE FROM analytics_dirty WHERE NOT {CONSENTED_DAY}
                RETURNING resident_id, day"""
        )
        gone = cur.fetchall()
        if gone:
            conn.execute(
                """DELETE FROM resident_days d USING unnest(%s::bigint[], %s::date[]) AS x(r, day)
                   WHERE d.resident_id = x.r AND d.day = x.day""",
                ([r for r, _d in gone], [d for _r, d in gone]),
            )
    return len(gone)


def dirty_days(conn: _Conn, limit: int) -> list[tuple[int, date]]:
    """Resident-days waiting to be computed that a care consent covers, oldest day first."""
    rows = conn.execute(
        f"""SELECT resident_id, day FROM analytics_dirty WHERE {CONSENTED_DAY}
            ORDER BY day, resident_id LIMIT %s""",
        (limit,),
    ).fetchall()
    return [(int(r), d) for r, d in rows]


def count_dirty(conn: _Conn) -> int:
    row = conn.execute("SELECT count(*) FROM analytics_dirty").fetchone()
    return int(row[0]) if row else 0


def resident(conn: _Conn, resident_id: int) -> Resident:
    row = conn.execute(
        """SELECT r.resident_id, r.tenant_id, r.pseudonym, t.time_zone
           FROM residents r JOIN tenants t USING (tenant_id) WHERE r.resident_id = %s""",
        (resident_id,),
    ).fetchone()
    if row is None:
        raise LookupError(f"resident {resident_id} does not exist")
    return Resident(int(row[0]), str(row[1]), str(row[2]), str(row[3]))


def assignments(conn: _Conn, resident_id: int, start: datetime, end: datetime) -> list[Assignment]:
    """The resident's device assignments overlapping [start, end)."""
    rows = conn.execute(
        """SELECT device_id, lower(valid), upper(valid) FROM device_assignments
           WHERE resident_id = %s AND valid && tstzrange(%s, %s) ORDER BY lower(valid)""",
        (resident_id, start, end),
    ).fetchall()
    return [Assignment(str(d), lo, hi) for d, lo, hi in rows]


def monitored_intervals(
    conn: _Conn, device_id: str, start: datetime, end: datetime
) -> npt.NDArray[np.float64]:
    """When the device could record (status online or sleeping until the next status), as
    an (k, 2) array of epoch seconds. Statuses more than STATUS_GAP_S apart leave a gap."""
    rows = conn.execute(
        """SELECT extract(epoch FROM time)::float8, state FROM device_status
           WHERE device_id = %s AND time >= %s - make_interval(secs => %s) AND time < %s
           ORDER BY time""",
        (device_id, start, STATUS_GAP_S, end),
    ).fetchall()
    if not rows:
        return np.zeros((0, 2))
    t = np.array([float(r[0]) for r in rows])
    up = np.array([r[1] in ("online", "sleeping") for r in rows])
    ends = np.append(t[1:], t[-1] + STATUS_GAP_S / 2)
    keep = up & (ends - t <= STATUS_GAP_S)
    return np.column_stack([t[keep], ends[keep]])


def robot_events(
    conn: _Conn, tenant_id: str, pseudonym: str, start: datetime, end: datetime
) -> list[RobotEvent]:
    """Robot events of the tenant around [start, end) that name the resident."""
    rows = conn.execute(
        """SELECT device_id, event, extract(epoch FROM time)::float8, session_id, body
           FROM robot_events
           WHERE tenant_id = %s
             AND time >= %s AND time < %s
             AND (body->>'participant' = %s OR body->'participants' ? %s
                  OR event = 'session_end')
           ORDER BY time""",
        (tenant_id, start - ROBOT_CONTEXT, end + ROBOT_CONTEXT, pseudonym, pseudonym),
    ).fetchall()
    return [RobotEvent.from_body(str(d), e, float(t), str(s), b) for d, e, t, s, b in rows]


def upsert_resident_days(
    conn: _Conn, results: Sequence[tuple[Resident, ResidentDayMetrics, str | None]]
) -> None:
    """Write (or overwrite) resident-days and take them off the to-do list.

    ``results`` holds, per resident-day, whose it is, its metrics and the walker that
    covered most of it. Call inside a transaction: the rows and the marks go together.
    """
    if not results:
        return
    columns = ("tenant_id", "resident_id", "device_id", *DAY_FIELDS)
    statement = sql.SQL(
        "INSERT INTO resident_days ({cols}) VALUES ({vals}) "
        "ON CONFLICT (resident_id, day) DO UPDATE SET ({cols}) = ({excluded}), "
        "computed_at = now()"
    ).format(
        cols=sql.SQL(", ").join(map(sql.Identifier, columns)),
        vals=sql.SQL(", ").join(sql.Placeholder() * len(columns)),
        excluded=sql.SQL(", ").join(sql.SQL("excluded.") + sql.Identifier(c) for c in columns),
    )
    with conn.cursor() as cur:
        cur.executemany(
            statement,
            [
                (who.tenant_id, who.resident_id, device_id,
                 *(getattr(metrics, name) for name in DAY_FIELDS))
                for who, metrics, device_id in results
            ],
        )  # fmt: skip
    conn.execute(
        """DELETE FROM analytics_dirty d USING unnest(%s::bigint[], %s::date[]) AS x(r, day)
           WHERE d.resident_id = x.r AND d.day = x.day""",
        ([who.resident_id for who, _m, _d in results], [m.day for _w, m, _d in results]),
    )


def stays_of(conn: _Conn, resident_days: Sequence[tuple[int, date]]) -> list[StayRow]:
    """The stays that contain any of the given resident-days."""
    if not resident_days:
        return []
    rows = conn.execute(
        """SELECT DISTINCT s.stay_id, s.tenant_id, s.resident_id,
                  (s.admitted_at AT TIME ZONE t.time_zone)::date,
                  (s.discharged_at AT TIME ZONE t.time_zone)::date
           FROM stays s JOIN tenants t USING (tenant_id)
           JOIN unnest(%s::bigint[], %s::date[]) AS x(resident_id, day)
             ON x.resident_id = s.resident_id
            AND x.day >= (s.admitted_at AT TIME ZONE t.time_zone)::date
            AND x.day <= coalesce((s.discharged_at AT TIME ZONE t.time_zone)::date, 'infinity')""",
        ([r for r, _d in resident_days], [d for _r, d in resident_days]),
    ).fetchall()
    return [StayRow(int(a), str(b), int(c), d, e) for a, b, c, d, e in rows]


def days_of_stay(
    conn: _Conn, stay: StayRow, pseudonym: str
) -> list[tuple[date, ResidentDayMetrics]]:
    """The stored resident-days of a stay, as the pure analytics' results."""
    rows = conn.execute(
        sql.SQL(
            "SELECT {} FROM resident_days WHERE resident_id = %s AND day >= %s "
            "AND (%s::date IS NULL OR day <= %s) ORDER BY day"
        ).format(sql.SQL(", ").join(map(sql.Identifier, DAY_FIELDS))),
        (stay.resident_id, stay.admitted_on, stay.discharged_on, stay.discharged_on),
    ).fetchall()
    out = []
    for row in rows:
        values: dict[str, Any] = dict(zip(DAY_FIELDS, row, strict=True))
        out.append((values["day"], ResidentDayMetrics(pseudonym=pseudonym, **values)))
    return out


def upsert_trajectory(conn: _Conn, stay: StayRow, traj: StayTrajectory) -> None:
    """Write (or overwrite) a stay's trajectory."""
    gs, st = traj.gait_speed_slope, traj.steps_slope
    values = {
        "stay_id": stay.stay_id, "tenant_id": stay.tenant_id,
        "metric_version": traj.metric_version, "n_days": traj.n_days,
        "n_days_with_data": traj.n_days_with_data,
        "gait_speed_baseline_mps": traj.gait_speed_baseline_mps,
        "gait_speed_latest_mps": traj.gait_speed_latest_mps,
        "gait_speed_change_mps": traj.gait_speed_change_mps,
        "gait_speed_slope_per_day": gs.per_day if gs else None,
        "gait_speed_slope_low": gs.low if gs else None,
        "gait_speed_slope_high": gs.high if gs else None,
        "gait_speed_change_class": traj.gait_speed_change_class,
        "steps_baseline": traj.steps_baseline, "steps_latest": traj.steps_latest,
        "steps_change": traj.steps_change,
        "steps_slope_per_day": st.per_day if st else None,
        "steps_slope_low": st.low if st else None, "steps_slope_high": st.high if st else None,
        "days_to_community_speed": traj.days_to_community_speed,
        "declining_3d": traj.declining_3d, "steps_declining_3d": traj.steps_declining_3d,
        "flags": list(traj.flags),
    }  # fmt: skip
    columns = list(values)
    conn.execute(
        sql.SQL(
            "INSERT INTO stay_trajectories ({cols}) VALUES ({vals}) "
            "ON CONFLICT (stay_id) DO UPDATE SET ({cols}) = ({excluded}), computed_at = now()"
        ).format(
            cols=sql.SQL(", ").join(map(sql.Identifier, columns)),
            vals=sql.SQL(", ").join(sql.Placeholder(c) for c in columns),
            excluded=sql.SQL(", ").join(sql.SQL("excluded.") + sql.Identifier(c) for c in columns),
        ),
        values,
    )
