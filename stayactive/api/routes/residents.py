"""``/residents``: list, register, and each resident's days, stays and walking bouts.

Every route here reads or changes resident-level data and writes audit rows before it answers.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Path, Query, Request, status
from psycopg.rows import TupleRow

from analytics import store as analytics_store
from analytics.runner import walker_day
from stayactive import registry
from stayactive.api._audit import write_audit_sync
from stayactive.api.deps import (
    MAX_ID,
    Allow,
    AuditedRead,
    ConnDep,
    CurrentUser,
    PageDep,
    ResidentScope,
    StateDep,
    check_range,
    check_ward_filter,
    denied,
    endpoint_of,
)
from stayactive.api.models.common import Page, page_of
from stayactive.api.models.consents import ConsentSummary
from stayactive.api.models.registry import ResidentCreate, ResidentPublic
from stayactive.api.models.residents import (
    BoutPublic,
    BoutsPublic,
    ResidentDayPublic,
    ResidentDaysPublic,
    StayPublic,
    TrajectoryPublic,
)
from stayactive.api.problems import ApiProblem, problem_responses

router = APIRouter(
    prefix="/residents",
    tags=["residents"],
    responses=problem_responses(401, 403, 404, 422, 503),
)

_LIST = """
SELECT r.resident_id, r.pseudonym, r.birth_year, r.sex,
       coalesce(array_agg(DISTINCT s.ward_id) FILTER (WHERE s.ward_id IS NOT NULL
                                                    AND (%(all)s OR s.ward_id = ANY(%(w)s))),
                '{}'),
       max(s.stay_id) FILTER (WHERE s.discharged_at IS NULL
                              AND (%(all)s OR s.ward_id = ANY(%(w)s))),
       count(*) OVER (),
       (SELECT jsonb_object_agg(c.purpose, c.status) FROM consent_status(r.resident_id) c)
FROM residents r LEFT JOIN stays s ON s.resident_id = r.resident_id
WHERE r.tenant_id = %(t)s
GROUP BY r.resident_id
HAVING (%(all)s OR array_agg(s.ward_id) && %(w)s::bigint[])
   AND (%(ward)s::bigint IS NULL OR %(ward)s = ANY(array_agg(s.ward_id)))
ORDER BY r.pseudonym LIMIT %(limit)s OFFSET %(offset)s
"""


def _resident_public(row: tuple[Any, ...]) -> ResidentPublic:
    return ResidentPublic(
        resident_id=int(row[0]),
        pseudonym=str(row[1]),
        birth_year=row[2],
        sex=str(row[3]),
        ward_ids=sorted(int(w) for w in row[4]),
        current_stay_id=row[5],
        consent=ConsentSummary(**(row[7] or {})),
    )


@router.get("", response_model=Page[ResidentPublic], dependencies=[Allow("resident.read")])
async def list_residents(
    audited: AuditedRead,
    conn: ConnDep,
    page: PageDep,
    ward: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only this ward.")] = None,
) -> Page[ResidentPublic]:
    """Residents with a stay on the caller's wards (admins: all), by pseudonym. For care staff
    ``ward_ids`` and ``current_stay_id`` name only the stays on their wards."""
    p = audited.principal
    await check_ward_filter(conn, p, ward)
    rows, total = await page.fetch(
        conn,
        _LIST,
        {"t": p.tenant_id, "all": p.role == "admin", "w": list(p.ward_ids), "ward": ward},
        total_at=6,
    )
    items = [_resident_public(r) for r in rows]
    await audited.record("resident", [str(i.resident_id) for i in items], detail={"list": True})
    return page_of(items, total, page.limit, page.offset)


@router.post(
    "",
    response_model=ResidentPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Allow("registry.write")],
    responses=problem_responses(409),
)
async def create_resident(
    body: ResidentCreate, principal: CurrentUser, state: StateDep, request: Request
) -> ResidentPublic:
    """Register a resident by pseudonym. A national identity number is refused, never stored
    (by :data:`~stayactive.api.models.registry.Pseudonym`, as every typed text)."""
    endpoint = endpoint_of(request)

    def work(sync: psycopg.Connection[TupleRow]) -> int:
        resident_id = registry.create_resident(
            sync, principal.tenant_id, body.pseudonym, body.birth_year, body.sex
        )
        if resident_id is None:
            raise ApiProblem(
                409, "resident-exists", f"a resident with pseudonym {body.pseudonym!r} exists"
            )
        write_audit_sync(
            sync,
            principal,
            action="create",
            endpoint=endpoint,
            subject_kind="resident",
            subject_ids=[str(resident_id)],
            detail={},
        )
        return resident_id

    resident_id = await state.in_thread(principal.tenant_id, work)
    return ResidentPublic(
        resident_id=resident_id,
        pseudonym=body.pseudonym,
        birth_year=body.birth_year,
        sex=body.sex,
        ward_ids=[],
        current_stay_id=None,
        consent=ConsentSummary(),
    )


_DAY_COLUMNS = (
    "day, walker_data, robot_data, coverage, in_use_s, steps_n, distance_m, walking_min, "
    "bouts_n, bouts_10s_n, bouts_30s_n, bouts_60s_n, bout_duration_median_s, "
    "bout_duration_p90_s, gait_speed_median_mps, gait_speed_p90_mps, cadence_spm, "
    "stride_time_cv, turns_n, sit_to_stands_n, handle_load_n, handle_asymmetry, "
    "robot_sessions_n, exercise_min, repetitions_n, robot_sit_to_stands_n, five_sts_s, "
    "metric_version, device_id"
)
_PUBLIC_FIELDS = (
    "date",
    "walker_data",
    "robot_data",
    "coverage",
    "in_use_s",
    "steps",
    "distance_m",
    "walking_min",
    "bouts",
    "bouts_10s",
    "bouts_30s",
    "bouts_60s",
    "bout_duration_median_s",
    "bout_duration_p90_s",
    "gait_speed_median_mps",
    "gait_speed_p90_mps",
    "cadence_spm",
    "stride_time_cv",
    "turns",
    "sit_to_stands",
    "handle_load_n",
    "handle_asymmetry",
    "robot_sessions",
    "exercise_min",
    "repetitions",
    "robot_sit_to_stands",
    "five_sts_s",
    "metric_version",
    "device_id",
)


def _day_public(row: tuple[Any, ...]) -> ResidentDayPublic:
    values = dict(zip(_PUBLIC_FIELDS, row, strict=True))
    return ResidentDayPublic(has_data=bool(values["walker_data"] or values["robot_data"]), **values)


@router.get(
    "/{resident_id}/days",
    response_model=ResidentDaysPublic,
    dependencies=[Allow("resident.read")],
    response_model_by_alias=True,
)
async def resident_days(
    resident: ResidentScope,
    audited: AuditedRead,
    conn: ConnDep,
    start: Annotated[dt.date, Query(alias="from", ge=dt.date(2000, 1, 1), le=dt.date(2100, 1, 1))],
    end: Annotated[dt.date, Query(alias="to", ge=dt.date(2000, 1, 1), le=dt.date(2100, 1, 1))],
) -> ResidentDaysPublic:
    """The resident's computed days from ``from`` to ``to`` (inclusive; at most 366 days)."""
    check_range(start, end)
    # Only days a care consent covers (docs/privacy.md) and, for care staff, days of the
    # resident's stays on their wards (docs/api.md); the others are counted, not shown.
    cur = await conn.execute(
        f"SELECT {_DAY_COLUMNS} FROM resident_days "
        "WHERE tenant_id = %s AND resident_id = %s AND day BETWEEN %s AND %s "
        "AND care_consent_covers(resident_id, day) "
        "AND care_scope_covers(resident_id, %s, day) ORDER BY day",
        (audited.principal.tenant_id, resident.resident_id, start, end, resident.scope_wards),
    )
    days = [_day_public(r) for r in await cur.fetchall()]
    cur = await conn.execute(
        """SELECT count(*) FILTER (WHERE NOT care_consent_covers(%(r)s, d::date)),
                  count(*) FILTER (WHERE NOT care_scope_covers(%(r)s, %(w)s, d::date))
           FROM generate_series(%(from)s::date, %(to)s::date, interval '1 day') AS d""",
        {"r": resident.resident_id, "w": resident.scope_wards, "from": start, "to": end},
    )
    row = await cur.fetchone()
    without, outside = (int(row[0]), int(row[1])) if row else (0, 0)
    await audited.record(
        "resident",
        [str(resident.resident_id)],
        detail={"from": start.isoformat(), "to": end.isoformat(), "days": len(days)},
    )
    return ResidentDaysPublic(
        resident_id=resident.resident_id,
        pseudonym=resident.pseudonym,
        start=start,
        end=end,
        days=days,
        days_without_care_consent=without,
        days_outside_ward_scope=outside,
    )


_STAYS = """
SELECT s.stay_id, s.ward_id, w.name, si.name, s.admitted_at, s.discharged_at, s.stay_type,
       s.discharge_destination, s.external_ref,
       t.n_days, t.n_days_with_data, t.gait_speed_baseline_mps, t.gait_speed_latest_mps,
       t.gait_speed_change_mps, t.gait_speed_slope_per_day, t.gait_speed_slope_low,
       t.gait_speed_slope_high, t.gait_speed_change_class, t.steps_baseline, t.steps_latest,
       t.steps_change, t.steps_slope_per_day, t.days_to_community_speed, t.declining_3d,
       t.steps_declining_3d, t.flags, t.metric_version
FROM stays s JOIN wards w ON w.ward_id = s.ward_id JOIN sites si ON si.site_id = w.site_id
LEFT JOIN stay_trajectories t ON t.stay_id = s.stay_id
WHERE s.tenant_id = %s AND s.resident_id = %s AND (%s OR s.ward_id = ANY(%s))
ORDER BY s.admitted_at DESC
"""

_TRAJ_FIELDS = (
    "n_days",
    "n_days_with_data",
    "gait_speed_baseline_mps",
    "gait_speed_latest_mps",
    "gait_speed_change_mps",
    "gait_speed_slope_per_day",
    "gait_speed_slope_low",
    "gait_speed_slope_high",
    "gait_speed_change_class",
    "steps_baseline",
    "steps_latest",
    "steps_change",
    "steps_slope_per_day",
    "days_to_community_speed",
    "declining_3d",
    "steps_declining_3d",
    "flags",
    "metric_version",
)


@router.get(
    "/{resident_id}/stays", response_model=list[StayPublic], dependencies=[Allow("resident.read")]
)
async def resident_stays(
    resident: ResidentScope, audited: AuditedRead, conn: ConnDep
) -> list[StayPublic]:
    """The resident's stays (care staff: those on their wards), newest first, with trajectory."""
    p = audited.principal
    cur = await conn.execute(
        _STAYS, (p.tenant_id, resident.resident_id, p.role == "admin", list(p.ward_ids))
    )
    stays = []
    for r in await cur.fetchall():
        traj = None
        if r[9] is not None:
            values = dict(zip(_TRAJ_FIELDS, r[9:], strict=True))
            values["flags"] = list(values["flags"] or [])
            traj = TrajectoryPublic(**values)
        stays.append(
            StayPublic(
                stay_id=r[0],
                ward_id=r[1],
                ward=r[2],
                site=r[3],
                admitted_at=r[4],
                discharged_at=r[5],
                stay_type=r[6],
                discharge_destination=r[7],
                external_ref=r[8],
                trajectory=traj,
            )
        )
    await audited.record("resident", [str(resident.resident_id)], detail={"stays": len(stays)})
    return stays


@router.get(
    "/{resident_id}/days/{date}/bouts",
    response_model=BoutsPublic,
    dependencies=[Allow("resident.read")],
)
async def resident_bouts(
    resident: ResidentScope,
    date: Annotated[dt.date, Path(description="Local date.")],
    audited: AuditedRead,
    state: StateDep,
) -> BoutsPublic:
    """The walking bouts of one day, computed from the raw walker data on request."""
    p = audited.principal
    today = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    if not dt.date(2000, 1, 1) <= date <= today:
        raise ApiProblem(422, "invalid-date", f"date {date} is out of range (2000-01-01 to today)")

    def work(sync: psycopg.Connection[TupleRow]) -> tuple[bool, str | None, list[BoutPublic]]:
        in_scope = sync.execute(
            "SELECT care_scope_covers(%s, %s, %s)",
            (resident.resident_id, resident.scope_wards, date),
        ).fetchone()
        if not (in_scope and in_scope[0]):
            raise denied(
                p,
                "resident",
                resident.resident_id,
                f"{date} is outside resident {resident.resident_id}'s stays on your wards",
            )
        covered = sync.execute(
            "SELECT care_consent_covers(%s, %s)", (resident.resident_id, date)
        ).fetchone()
        if not (covered and covered[0]):
            return False, None, []  # no care consent that day: nothing is computed
        who = analytics_store.resident(sync, resident.resident_id)
        metrics = walker_day(sync, who, date)
        if metrics is None:
            return True, None, []
        return (
            True,
            metrics.device_id,
            [
                BoutPublic(
                    start=dt.datetime.fromtimestamp(b.start_s, dt.UTC),
                    end=dt.datetime.fromtimestamp(b.end_s, dt.UTC),
                    duration_s=b.end_s - b.start_s,
                    steps=b.n_steps,
                    distance_m=b.distance_m,
                    speed_mps=b.speed_mps,
                    cadence_spm=b.cadence_spm,
                    stride_time_cv=b.stride_time_cv,
                )
                for b in metrics.bouts
            ],
        )

    covered, device_id, bouts = await state.in_thread(p.tenant_id, work)
    await audited.record(
        "resident",
        [str(resident.resident_id)],
        detail={"date": date.isoformat(), "bouts": len(bouts)},
    )
    return BoutsPublic(
        resident_id=resident.resident_id,
        date=date,
        device_id=device_id,
        bouts=bouts,
        care_consent=covered,
    )
