"""The analytics runner: raw device data in TimescaleDB → resident-days and stay trajectories.

Incremental: each run marks the resident-days that new raw data (found by the time ingest
stored it, behind a watermark), a new or corrected device assignment (a trigger marks those),
or an older metric version touch, and computes just those. A resident-day is computed from its
own window with context on both sides, so late data simply marks its day again. Results are
upserted, so running twice changes nothing; an advisory lock keeps two runners from working at
once (the second waits its turn, or gives up after ``lock_wait_s``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import psycopg
from psycopg.rows import TupleRow

from analytics import store
from analytics.frames import load_frames, walker_input
from analytics.mobility import (
    CONTEXT_S,
    METRIC_VERSION,
    ResidentDayMetrics,
    WalkerDayMetrics,
    local_day_window,
    resident_day,
    robot_day_metrics,
    stay_trajectory,
    walker_day_metrics,
)
from stayactive import db
from stayactive.settings import Settings

log = logging.getLogger(__name__)

#: Data stored less than this long ago waits for the next run: a batch being written now may
#: carry a slightly earlier stored_at than rows already visible.
SAFETY_LAG = timedelta(seconds=30)
BATCH_DAYS = 50


@dataclass
class RunReport:
    """What one pass did."""

    marked: int = 0
    computed: int = 0
    trajectories: int = 0
    seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)


Progress = Callable[[str], None]


def _utc(t_s: float) -> datetime:
    return datetime.fromtimestamp(t_s, UTC)


def walker_day(
    conn: psycopg.Connection[TupleRow], who: store.Resident, day: date
) -> WalkerDayMetrics | None:
    """The walker metrics (with the bouts) of the walker that covered most of the resident-day;
    None when no walker was assigned that day."""
    start_s, end_s = local_day_window(day, who.time_zone)
    best: WalkerDayMetrics | None = None
    best_span = 0.0
    for a in store.assignments(conn, who.resident_id, _utc(start_s), _utc(end_s)):
        w0 = max(start_s, a.start.timestamp())
        w1 = min(end_s, a.end.timestamp() if a.end else end_s)
        if w1 <= w0:
            continue
        frames = load_frames(conn, a.device_id, _utc(w0 - CONTEXT_S), _utc(w1 + CONTEXT_S))
        monitored = store.monitored_intervals(conn, a.device_id, _utc(w0), _utc(w1))
        inp = walker_input(a.device_id, frames, w0, w1, monitored_s=monitored)
        metrics = walker_day_metrics(inp, who.time_zone)
        # On a day the walker was swapped, the one that covered more of it counts.
        if w1 - w0 > best_span:
            best, best_span = metrics, w1 - w0
    return best


def compute_resident_day(
    conn: psycopg.Connection[TupleRow], who: store.Resident, day: date
) -> tuple[ResidentDayMetrics, str | None]:
    """The resident-day's metrics from the database, and the walker that covered most of it."""
    start_s, end_s = local_day_window(day, who.time_zone)
    best = walker_day(conn, who, day)
    events = store.robot_events(conn, who.tenant_id, who.pseudonym, _utc(start_s), _utc(end_s))
    robot = robot_day_metrics(events, who.pseudonym, day, who.time_zone) if events else None
    result = resident_day(best, robot, pseudonym=who.pseudonym, day=day)
    return result, best.device_id if best is not None else None


class AnalyticsRunner:
    """Computes what is marked; see the module docstring."""

    def __init__(self, settings: Settings, progress: Progress | None = None) -> None:
        self.settings = settings
        self.progress = progress or (lambda line: log.info("%s", line))

    def run_once(
        self,
        *,
        since: date | None = None,
        stop: Callable[[], bool] = lambda: False,
        lock_wait_s: float = 600.0,
    ) -> RunReport:
        """One pass over everything marked; returns when done (or asked to stop)."""
        report = RunReport()
        started = time.monotonic()
        schema = self.settings.database_schema
        with db.connect(self.settings, autocommit=True) as conn:
            deadline = time.monotonic() + lock_wait_s
            while not store.lock(conn, schema):
                if time.monotonic() > deadline or stop():
                    report.skipped.append("another runner held the lock")
                    return report
                time.sleep(1.0)
            try:
                report.marked = self._mark(conn, since)
                self._compute(conn, report, stop)
            finally:
                store.unlock(conn, schema)
        report.seconds = time.monotonic() - started
        return report

    def _mark(self, conn: psycopg.Connection[TupleRow], since: date | None) -> int:
        marked = store.mark_new_data(conn, datetime.now(UTC) - SAFETY_LAG)
        marked += store.mark_stale_versions(conn, METRIC_VERSION)
        if since is not None:
            marked += store.mark_since(conn, since)
        return marked

    def _compute(
        self, conn: psycopg.Connection[TupleRow], report: RunReport, stop: Callable[[], bool]
    ) -> None:
        total = store.count_dirty(conn)
        if total:
            self.progress(f"{total} resident-days to compute")
        residents: dict[int, store.Resident] = {}
        done: list[tuple[int, date]] = []
        last_report = time.monotonic()
        while not stop() and (batch := store.dirty_days(conn, BATCH_DAYS)):
            for resident_id, day in batch:
                if stop():
                    break
                who = residents.get(resident_id) or store.resident(conn, resident_id)
                residents[resident_id] = who
                metrics, device_id = compute_resident_day(conn, who, day)
                with conn.transaction():
                    store.upsert_resident_day(conn, who, metrics, device_id)
                done.append((resident_id, day))
                report.computed += 1
                if time.monotonic() - last_report > 5:
                    self.progress(f"  {report.computed}/{total} resident-days")
                    last_report = time.monotonic()
        for stay in store.stays_of(conn, done):
            who = residents[stay.resident_id]
            days = store.days_of_stay(conn, stay, who.pseudonym)
            with conn.transaction():
                store.upsert_trajectory(
                    conn, stay, stay_trajectory(days, admission_date=stay.admitted_on)
                )
            report.trajectories += 1
        if report.computed:
            self.progress(
                f"computed {report.computed} resident-days and {report.trajectories} stay "
                f"trajectories (metric version {METRIC_VERSION})"
            )

    def follow(self, stop: Callable[[], bool], interval_s: float = 30.0) -> None:
        """Run a pass every ``interval_s`` until ``stop`` says so."""
        while not stop():
            self.run_once(stop=stop)
            deadline = time.monotonic() + interval_s
            while time.monotonic() < deadline and not stop():
                time.sleep(0.5)
