"""The analytics runner: raw device data in TimescaleDB → resident-days and stay trajectories.

Incremental: each run marks the resident-days that new raw data (found by the time ingest
stored it, behind a watermark), a new or corrected device assignment (a trigger marks those),
or an older metric version touch, and computes just those. A resident-day is computed from its
own window with context on both sides, so late data marks again every day that read it (its
own and, near a midnight, the neighbour that read it as context). Results are
upserted, so running twice changes nothing; an advisory lock keeps two runners from working at
once (the second waits its turn, or gives up after ``lock_wait_s``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg.rows import TupleRow

from analytics import store
from analytics.frames import FrameArrays, Window, load_windows, walker_input
from analytics.mobility import (
    CONTEXT_S,
    METRIC_VERSION,
    ResidentDayMetrics,
    RobotEvent,
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
FloatArray = npt.NDArray[np.float64]

SAFETY_LAG = timedelta(seconds=30)
BATCH_DAYS = 50


@dataclass
class StageTimes:
    """Where a pass spent its time (wall clock, seconds): marking what changed, reading
    resident-days' inputs from the database, computing their metrics, writing the results
    (resident-days, and the stay trajectories, which read the stored days back).

    In a pass the next resident-day is read while one is computed: ``read_s`` is then the
    time the compute waited for a read (what the read-ahead did not hide)."""

    mark_s: float = 0.0
    read_s: float = 0.0
    compute_s: float = 0.0
    write_s: float = 0.0
    read_cpu_s: float = 0.0  # CPU of the thread that read; the rest of a read is the server's
    compute_cpu_s: float = 0.0  # CPU of the thread that computed


@dataclass
class RunReport:
    """What one pass did."""

    marked: int = 0
    #: Marked resident-days left out because no care consent covers them (not computed).
    excluded_no_consent: int = 0
    computed: int = 0
    trajectories: int = 0
    seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)
    times: StageTimes = field(default_factory=StageTimes)


Progress = Callable[[str], None]


def _utc(t_s: float) -> datetime:
    return datetime.fromtimestamp(t_s, UTC)


@dataclass(frozen=True)
class _DevicePart:
    """The part ``[start_s, end_s)`` of a resident-day a device was assigned for."""

    device_id: str
    start_s: float
    end_s: float


def _device_parts(
    assignments: list[store.Assignment], start_s: float, end_s: float
) -> list[_DevicePart]:
    parts = []
    for a in assignments:
        w0 = max(start_s, a.start.timestamp())
        w1 = min(end_s, a.end.timestamp() if a.end else end_s)
        if w1 > w0:
            parts.append(_DevicePart(a.device_id, w0, w1))
    return parts


@dataclass(frozen=True)
class DayInputs:
    """What a resident-day's metrics are computed from, as read from the database.

    ``parts`` are the devices assigned that day (with the part of the day each covered),
    ``frames`` and ``monitored`` their samples (``CONTEXT_S`` on both sides) and monitored
    intervals, ``events`` the robot events naming the resident; ``read_s`` and
    ``read_cpu_s`` what the read took (wall clock, and CPU of the thread that read).
    """

    who: store.Resident
    day: date
    parts: list[_DevicePart]
    frames: list[FrameArrays]
    monitored: list[FloatArray]
    events: list[RobotEvent]
    read_s: float
    read_cpu_s: float


def read_resident_day(
    conn: psycopg.Connection[TupleRow], who: store.Resident, day: date, *, robots: bool = True
) -> DayInputs:
    """Everything a resident-day's metrics need from the database: the samples of every
    device assigned that day in one COPY, their monitored intervals, the robot events (unless
    not ``robots``)."""
    t_read, cpu_read = time.perf_counter(), time.thread_time()
    start_s, end_s = local_day_window(day, who.time_zone)
    parts = _device_parts(
        store.assignments(conn, who.resident_id, _utc(start_s), _utc(end_s)), start_s, end_s
    )
    frames = load_windows(
        conn,
        [
            Window(p.device_id, _utc(p.start_s - CONTEXT_S), _utc(p.end_s + CONTEXT_S))
            for p in parts
        ],
    )
    monitored = [
        store.monitored_intervals(conn, p.device_id, _utc(p.start_s), _utc(p.end_s)) for p in parts
    ]
    events = (
        store.robot_events(conn, who.tenant_id, who.pseudonym, _utc(start_s), _utc(end_s))
        if robots
        else []
    )
    return DayInputs(
        who, day, parts, frames, monitored, events,
        read_s=time.perf_counter() - t_read, read_cpu_s=time.thread_time() - cpu_read,
    )  # fmt: skip


def _walker_metrics(inputs: DayInputs) -> WalkerDayMetrics | None:
    """The walker metrics of the walker that covered most of the day (None: no walker)."""
    best: WalkerDayMetrics | None = None
    best_span = 0.0
    for part, samples, monitored_s in zip(
        inputs.parts, inputs.frames, inputs.monitored, strict=True
    ):
        inp = walker_input(
            part.device_id, samples, part.start_s, part.end_s, monitored_s=monitored_s
        )
        metrics = walker_day_metrics(inp, inputs.who.time_zone)
        # On a day the walker was swapped, the one that covered more of it counts.
        if part.end_s - part.start_s > best_span:
            best, best_span = metrics, part.end_s - part.start_s
    return best


def compute_from(
    inputs: DayInputs, times: StageTimes | None = None
) -> tuple[ResidentDayMetrics, str | None]:
    """The resident-day's metrics from what :func:`read_resident_day` read, and the walker
    that covered most of it; ``times``, if given, gets the compute time added."""
    t_compute, cpu_compute = time.perf_counter(), time.thread_time()
    who, day = inputs.who, inputs.day
    best = _walker_metrics(inputs)
    events = inputs.events
    robot = robot_day_metrics(events, who.pseudonym, day, who.time_zone) if events else None
    result = resident_day(best, robot, pseudonym=who.pseudonym, day=day)
    if times is not None:
        times.compute_s += time.perf_counter() - t_compute
        times.compute_cpu_s += time.thread_time() - cpu_compute
    return result, best.device_id if best is not None else None


def walker_day(
    conn: psycopg.Connection[TupleRow],
    who: store.Resident,
    day: date,
    times: StageTimes | None = None,
) -> WalkerDayMetrics | None:
    """The walker metrics (with the bouts) of the walker that covered most of the resident-day;
    None when no walker was assigned that day.

    The samples of every device assigned that day come in one COPY (with ``CONTEXT_S`` on
    both sides of each part); ``times``, if given, gets the read and compute time added.
    """
    inputs = read_resident_day(conn, who, day, robots=False)
    t_compute, cpu_compute = time.perf_counter(), time.thread_time()
    best = _walker_metrics(inputs)
    if times is not None:
        times.read_s += inputs.read_s
        times.read_cpu_s += inputs.read_cpu_s
        times.compute_s += time.perf_counter() - t_compute
        times.compute_cpu_s += time.thread_time() - cpu_compute
    return best


def compute_resident_day(
    conn: psycopg.Connection[TupleRow],
    who: store.Resident,
    day: date,
    times: StageTimes | None = None,
) -> tuple[ResidentDayMetrics, str | None]:
    """The resident-day's metrics from the database, and the walker that covered most of it;
    ``times``, if given, gets the read and compute time added."""
    inputs = read_resident_day(conn, who, day)
    if times is not None:
        times.read_s += inputs.read_s
        times.read_cpu_s += inputs.read_cpu_s
    return compute_from(inputs, times)


class AnalyticsRunner:
    """Computes what is marked; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        progress: Progress | None = None,
        *,
        safety_lag: timedelta = SAFETY_LAG,
    ) -> None:
        self.settings = settings
        self.progress = progress or (lambda line: log.info("%s", line))
        self.safety_lag = safety_lag

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
        with db.connect(self.settings, autocommit=True, role="analytics") as conn:
            deadline = time.monotonic() + lock_wait_s
            while not store.lock(conn, schema):
                if time.monotonic() > deadline or stop():
                    report.skipped.append("another runner held the lock")
                    return report
                time.sleep(1.0)
            try:
                t_mark = time.perf_counter()
                report.marked = self._mark(conn, since)
                report.times.mark_s = time.perf_counter() - t_mark
                report.excluded_no_consent = store.exclude_unconsented(conn)
                if report.excluded_no_consent:
                    self.progress(
                        f"{report.excluded_no_consent} resident-days left out: no care consent "
                        "covers them"
                    )
                self._compute(conn, report, stop)
            finally:
                store.unlock(conn, schema)
        report.seconds = time.monotonic() - started
        return report

    def _mark(self, conn: psycopg.Connection[TupleRow], since: date | None) -> int:
        marked = store.mark_new_data(
            conn, datetime.now(UTC) - self.safety_lag, timedelta(seconds=CONTEXT_S)
        )
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
        # A second connection reads the next resident-day while this one is computed, so the
        # database's work (finding and sending ~20 MB of a heavy day) overlaps the compute.
        with (
            db.connect(self.settings, autocommit=True, role="analytics") as read_conn,
            ThreadPoolExecutor(1, thread_name_prefix="analytics-read") as reader,
        ):
            # The one place that chooses which resident-days are computed: what is marked.
            while not stop() and (batch := store.dirty_days(conn, BATCH_DAYS)):
                whos = []
                for resident_id, day in batch:
                    who = residents.get(resident_id) or store.resident(conn, resident_id)
                    residents[resident_id] = who
                    whos.append((who, day))
                results: list[tuple[store.Resident, ResidentDayMetrics, str | None]] = []
                ahead = reader.submit(read_resident_day, read_conn, *whos[0])
                for i in range(len(whos)):
                    t_wait = time.perf_counter()
                    inputs = ahead.result()
                    report.times.read_s += time.perf_counter() - t_wait
                    report.times.read_cpu_s += inputs.read_cpu_s
                    if stop():
                        break
                    if i + 1 < len(whos):
                        ahead = reader.submit(read_resident_day, read_conn, *whos[i + 1])
                    metrics, device_id = compute_from(inputs, report.times)
                    del inputs
                    results.append((whos[i][0], metrics, device_id))
                    if time.monotonic() - last_report > 5:
                        self.progress(f"  {report.computed + len(results)}/{total} resident-days")
                        last_report = time.monotonic()
                # One transaction per batch: a crash loses the batch's work, never a mark.
                t_write = time.perf_counter()
                with conn.transaction():
                    store.upsert_resident_days(conn, results)
                report.times.write_s += time.perf_counter() - t_write
                done.extend((who.resident_id, metrics.day) for who, metrics, _d in results)
                report.computed += len(results)
        t_write = time.perf_counter()
        for stay in store.stays_of(conn, done):
            who = residents[stay.resident_id]
            days = store.days_of_stay(conn, stay, who.pseudonym)
            with conn.transaction():
                store.upsert_trajectory(
                    conn, stay, stay_trajectory(days, admission_date=stay.admitted_on)
                )
            report.trajectories += 1
        report.times.write_s += time.perf_counter() - t_write
        if report.computed:
            self.progress(
                f"computed {report.computed} resident-days and {report.trajectories} stay "
                f"trajectories (metric version {METRIC_VERSION})"
            )

    def follow(self, stop: Callable[[], bool], interval_s: float = 30.0) -> None:
        """Run a pass every ``interval_s`` until ``stop`` says so. While the database is away
        a pass fails and the next is tried after the interval: a pass's work is committed per
        batch, so nothing is lost, and the marks left are computed when it is back."""
        while not stop():
            try:
                self.run_once(stop=stop)
            except Exception as exc:
                if not db.is_transient(exc):
                    raise
                log.warning("analytics pass interrupted (%s); trying again in %.0f s",
                            str(exc).strip() or type(exc).__name__, interval_s)  # fmt: skip
            deadline = time.monotonic() + interval_s
            while time.monotonic() < deadline and not stop():
                time.sleep(0.5)
