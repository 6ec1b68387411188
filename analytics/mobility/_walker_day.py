"""Walker metrics of one device over one local day (or any window), from its raw samples."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from analytics.gait import (
    BoutDetectorOdometry,
    SitToStandDetectorForce,
    StepDetectorWalker,
    TurnDetectorGyro,
    WalkerMotion,
    WalkerSignals,
    bout_intervals,
    handle_load,
    stride_time_cv,
    walking_mask,
)
from analytics.mobility._common import (
    DEFAULT_TZ,
    METRIC_VERSION,
    clip_intervals,
    local_date_of,
    total_length,
)

__all__ = [
    "BOUT_THRESHOLDS_S",
    "CONTEXT_S",
    "BoutRecord",
    "WalkerDayInput",
    "WalkerDayMetrics",
    "WalkerFrame",
    "walker_day_metrics",
]

FloatArray = npt.NDArray[np.float64]
SampleArray = npt.NDArray[np.float64] | npt.NDArray[np.float32]
"""A channel's samples: float64, or float32 views of :attr:`WalkerDayInput.packed`."""

BOUT_THRESHOLDS_S = (10.0, 30.0, 60.0)
"""Bout-length classes counted per day (bouts longer than each)."""

CONTEXT_S = 900.0
"""Samples to give before and after the window: the longest plausible bout (15 min), so a bout
that crosses midnight is seen whole and counted on the day it starts."""


@dataclass(frozen=True)
class WalkerFrame:
    """One telemetry frame as stored (``docs/protocol.md``): samples at ``t0 + i / rate_hz``."""

    t0_s: float
    rate_hz: float
    acc_x: Sequence[float]
    acc_y: Sequence[float]
    acc_z: Sequence[float]
    gyro_x: Sequence[float]
    gyro_y: Sequence[float]
    gyro_z: Sequence[float]
    odo_l: Sequence[float]
    odo_r: Sequence[float]
    force_l: Sequence[float]
    force_r: Sequence[float]
    brake: Sequence[bool | int]


@dataclass(frozen=True)
class WalkerDayInput:
    """A walker's samples for one resident-day window, concatenated in the order received.

    Give the samples from ``start_s - CONTEXT_S`` to ``end_s + CONTEXT_S`` if you have them:
    events are detected on everything and counted on the window they start in.

    Attributes
    ----------
    device_id : str
    start_s, end_s : float
        The window ``[start_s, end_s)``: a local day, or the part of it the device was
        assigned to the resident.
    t_s : ndarray, shape (n,)
        Sample times, epoch seconds (each frame's samples at ``t0 + i / rate_hz``).
    acc_mps2, gyro_radps : ndarray, shape (n, 3)
    odo_l_m, odo_r_m, force_l_n, force_r_n : ndarray, shape (n,)
    brake : ndarray, shape (n,)
        1/True while the parking brake is engaged.
    monitored_s : ndarray, shape (k, 2), optional
        Intervals when the device was known to be able to record: status ``online`` or
        ``sleeping`` (it wakes when the walker is touched). Without them, only the time with
        samples counts as monitored, and a day without samples is "no data".
    day : date, optional
        Local date the window belongs to; derived from ``start_s`` if not given.
    """

    device_id: str
    start_s: float
    end_s: float
    t_s: FloatArray
    acc_mps2: SampleArray
    gyro_radps: SampleArray
    odo_l_m: SampleArray
    odo_r_m: SampleArray
    force_l_n: SampleArray
    force_r_n: SampleArray
    brake: npt.NDArray[np.float64] | npt.NDArray[np.bool_]
    monitored_s: FloatArray | None = None
    day: date | None = None
    packed: npt.NDArray[np.float32] | None = field(default=None, init=False, repr=False)
    """The ten channels in one ``(10, n)`` float32 array, one row each, when the input was made
    by :meth:`from_packed` (the channel attributes are then views of it): the binning sums all
    ten at once."""

    def __post_init__(self) -> None:
        n = len(self.t_s)
        for name in ("odo_l_m", "odo_r_m", "force_l_n", "force_r_n", "brake"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} samples, t_s has {n}")
        for name in ("acc_mps2", "gyro_radps"):
            arr = np.asarray(getattr(self, name))
            if arr.shape != (n, 3):
                raise ValueError(f"{name} must have shape ({n}, 3), not {arr.shape}")
        if not self.end_s > self.start_s:
            raise ValueError("the window must end after it starts")

    @classmethod
    def empty(
        cls,
        device_id: str,
        start_s: float,
        end_s: float,
        *,
        monitored_s: FloatArray | None = None,
        day: date | None = None,
    ) -> WalkerDayInput:
        """A window without any sample (e.g. the device sent nothing that day)."""
        z = np.zeros(0)
        z3 = np.zeros((0, 3))
        return cls(device_id, start_s, end_s, z, z3, z3, z, z, z, z, z, monitored_s, day)

    @classmethod
    def from_packed(
        cls,
        device_id: str,
        start_s: float,
        end_s: float,
        t_s: FloatArray,
        packed: npt.NDArray[np.float32],
        brake: npt.NDArray[np.bool_],
        *,
        monitored_s: FloatArray | None = None,
        day: date | None = None,
    ) -> WalkerDayInput:
        """An input whose channels are the rows of ``packed`` (``(10, n)``, in the order of
        :data:`stayactive.db.walker_samples.CHANNELS`), as the runner reads them."""
        if packed.ndim != 2 or packed.shape[0] != 10:
            raise ValueError(f"packed must have shape (10, n), not {packed.shape}")
        inp = cls(
            device_id=device_id, start_s=start_s, end_s=end_s, t_s=t_s,
            acc_mps2=packed[0:3].T, gyro_radps=packed[3:6].T, odo_l_m=packed[6],
            odo_r_m=packed[7], force_l_n=packed[8], force_r_n=packed[9], brake=brake,
            monitored_s=monitored_s, day=day,
        )  # fmt: skip
        # Not an argument of the constructor, so that its channels and ``packed`` cannot
        # disagree; frozen, hence the object.__setattr__.
        object.__setattr__(inp, "packed", packed)
        return inp

    @classmethod
    def from_frames(
        cls,
        device_id: str,
        frames: Iterable[WalkerFrame],
        start_s: float,
        end_s: float,
        *,
        monitored_s: FloatArray | None = None,
        day: date | None = None,
    ) -> WalkerDayInput:
        """Concatenate stored frames (in time order) into one input."""
        items = list(frames)
        if not items:
            return cls.empty(device_id, start_s, end_s, monitored_s=monitored_s, day=day)
        lens = np.array([len(f.acc_x) for f in items])
        t0 = np.repeat([f.t0_s for f in items], lens)
        rate = np.repeat([f.rate_hz for f in items], lens)
        first = np.repeat(np.cumsum(lens) - lens, lens)
        t = t0 + (np.arange(int(lens.sum())) - first) / rate

        def cat(name: str) -> FloatArray:
            out: FloatArray = np.concatenate(
                [np.asarray(getattr(f, name), dtype=np.float64) for f in items]
            )
            return out

        return cls(
            device_id=device_id,
            start_s=start_s,
            end_s=end_s,
            t_s=t,
            acc_mps2=np.column_stack([cat("acc_x"), cat("acc_y"), cat("acc_z")]),
            gyro_radps=np.column_stack([cat("gyro_x"), cat("gyro_y"), cat("gyro_z")]),
            odo_l_m=cat("odo_l"),
            odo_r_m=cat("odo_r"),
            force_l_n=cat("force_l"),
            force_r_n=cat("force_r"),
            brake=cat("brake"),
            monitored_s=monitored_s,
            day=day,
        )


@dataclass(frozen=True)
class BoutRecord:
    """One walking bout, for storage and drill-down."""

    start_s: float
    end_s: float
    n_steps: int
    distance_m: float
    speed_mps: float
    cadence_spm: float
    stride_time_cv: float | None


@dataclass(frozen=True)
class WalkerDayMetrics:
    """Walker metrics of one resident-day window. ``None``: not computable (no data).

    Counts and totals are 0 on a monitored day without walking; averages are ``None`` when
    there was nothing to average. ``has_data`` is False and every metric ``None`` when the
    device sent no sample and was not known to be monitoring: missing data is never shown
    as inactivity.

    Attributes
    ----------
    device_id, day, start_s, end_s, metric_version
    has_data : bool
    coverage : float
        Monitored share of the window (0-1): status online/sleeping, or samples.
    in_use_s : float
        Time with samples in the window (the walker awake).
    analysed_fraction : float or None
        Share of the in-use time whose odometry and handle loads were readable.
    steps_n : int or None
        Steps in walking bouts that start in the window.
    distance_m, walking_min : float or None
        Summed over those bouts (first to last contact).
    bouts_n, bouts_10s_n, bouts_30s_n, bouts_60s_n : int or None
        All bouts, and those longer than 10, 30, 60 s.
    bout_duration_median_s, bout_duration_p90_s : float or None
    gait_speed_median_mps : float or None
        Median of the bouts' mean speeds.
    gait_speed_p90_mps : float or None
        90th percentile of the mean speeds of bouts longer than 10 s.
    cadence_spm : float or None
        Median of the bouts' cadences.
    step_time_s, stride_time_s : float or None
        Medians over all steps / strides in bouts.
    stride_time_cv : float or None
        Median stride-time CV of bouts longer than 10 s (with at least 5 strides).
    turns_n : int or None
        Turns of at least 45 deg.
    sit_to_stands_n : int or None
        Sit-to-stand transitions using the walker.
    sit_to_stand_duration_s : float or None
        Median width of their load peaks.
    handle_load_n, handle_load_p95_n : float or None
        Mean and 95th percentile of the total handle load while walking.
    handle_asymmetry : float or None
        Mean (L - R) / (L + R) while walking; positive = more load on the left.
    bouts : tuple of BoutRecord
    """

    device_id: str
    day: date
    start_s: float
    end_s: float
    has_data: bool
    coverage: float
    in_use_s: float
    analysed_fraction: float | None = None
    steps_n: int | None = None
    distance_m: float | None = None
    walking_min: float | None = None
    bouts_n: int | None = None
    bouts_10s_n: int | None = None
    bouts_30s_n: int | None = None
    bouts_60s_n: int | None = None
    bout_duration_median_s: float | None = None
    bout_duration_p90_s: float | None = None
    gait_speed_median_mps: float | None = None
    gait_speed_p90_mps: float | None = None
    cadence_spm: float | None = None
    step_time_s: float | None = None
    stride_time_s: float | None = None
    stride_time_cv: float | None = None
    turns_n: int | None = None
    sit_to_stands_n: int | None = None
    sit_to_stand_duration_s: float | None = None
    handle_load_n: float | None = None
    handle_load_p95_n: float | None = None
    handle_asymmetry: float | None = None
    bouts: tuple[BoutRecord, ...] = field(default=(), repr=False)
    metric_version: str = METRIC_VERSION


def _median(x: FloatArray) -> float | None:
    x = x[np.isfinite(x)]
    return float(np.median(x)) if len(x) else None


def _pct(x: FloatArray, q: float) -> float | None:
    x = x[np.isfinite(x)]
    return float(np.percentile(x, q)) if len(x) else None


def walker_day_metrics(inp: WalkerDayInput, tz: ZoneInfo | str = DEFAULT_TZ) -> WalkerDayMetrics:
    """Compute a resident-day's walker metrics from the device's samples.

    1. Bin the samples onto the 10-Hz working grid (:class:`WalkerSignals`).
    2. Motion, steps (:class:`StepDetectorWalker`), bouts (:class:`BoutDetectorOdometry`),
       turns, sit-to-stands, on all samples given (with context around the window).
    3. Keep the events that start in the window; coverage from the monitored intervals. A
       window whose odometry was never readable gets no walking figures (``None``).
    4. Daily figures (see :class:`WalkerDayMetrics` and ``docs/metrics.md``).

    Parameters
    ----------
    inp : WalkerDayInput
    tz : ZoneInfo or str, optional
        Time zone of the local day (for ``day`` when the input does not give it).

    Returns
    -------
    WalkerDayMetrics
    """
    day = inp.day if inp.day is not None else local_date_of(inp.start_s, tz)
    window = inp.end_s - inp.start_s
    # 1.
    if inp.packed is not None:
        sig = WalkerSignals.from_packed(inp.t_s, inp.packed)
    else:
        sig = WalkerSignals.from_arrays(
            inp.t_s,
            inp.acc_mps2,
            inp.gyro_radps,
            inp.odo_l_m,
            inp.odo_r_m,
            inp.force_l_n,
            inp.force_r_n,
        )
    sampled = clip_intervals(sig.sampled_s, inp.start_s, inp.end_s)
    in_use = total_length(sampled)
    monitored_iv = sampled
    if inp.monitored_s is not None and len(inp.monitored_s):
        given = np.asarray(inp.monitored_s, dtype=np.float64).reshape(-1, 2)
        monitored_iv = clip_intervals(np.vstack([given, sampled]), inp.start_s, inp.end_s)
    coverage = total_length(monitored_iv) / window
    base = WalkerDayMetrics(
        device_id=inp.device_id,
        day=day,
        start_s=inp.start_s,
        end_s=inp.end_s,
        has_data=False,
        coverage=coverage,
        in_use_s=in_use,
    )
    if coverage <= 0.0:
        return base
    inside = (sig.t_s >= inp.start_s) & (sig.t_s < inp.end_s) & sig.in_run
    n_in = int(inside.sum())
    analysed = float((inside & sig.odo_ok & sig.force_ok).sum()) / n_in if n_in else None
    if n_in and not (inside & sig.odo_ok).any():
        # The walker was used but its odometry never read: walking cannot be measured, and
        # reporting 0 steps would make missing data look like inactivity.
        return replace(base, has_data=True, analysed_fraction=analysed)
    # 2.
    motion = WalkerMotion.from_signals(sig)
    steps = StepDetectorWalker().detect(sig, motion)
    bouts = BoutDetectorOdometry().detect(steps.ic_s_, steps.side_, sig, motion).bouts_
    turns = TurnDetectorGyro().detect(sig, motion).turns_
    trans = SitToStandDetectorForce().detect(sig, motion).transitions_
    # 3.
    b_in = (bouts.start_s >= inp.start_s) & (bouts.start_s < inp.end_s)
    day_bouts = bouts.select(b_in)
    cv = stride_time_cv(steps.ic_s_, day_bouts)
    t_in = (turns.start_s >= inp.start_s) & (turns.start_s < inp.end_s)
    s_in = (trans.peak_s >= inp.start_s) & (trans.peak_s < inp.end_s) & trans.rising
    load = handle_load(sig, motion, walking_mask(sig, day_bouts) & inside)
    # 4.
    dur = day_bouts.duration_s
    speed = day_bouts.speed_mps
    cad = day_bouts.cadence_spm
    long10 = dur > BOUT_THRESHOLDS_S[0]
    step_t, _ = bout_intervals(steps.ic_s_, day_bouts, lag=1)
    stride_t, _ = bout_intervals(steps.ic_s_, day_bouts, lag=2)
    records = tuple(
        BoutRecord(
            start_s=float(day_bouts.start_s[i]),
            end_s=float(day_bouts.end_s[i]),
            n_steps=int(day_bouts.n_steps[i]),
            distance_m=float(day_bouts.distance_m[i]),
            speed_mps=float(speed[i]),
            cadence_spm=float(cad[i]),
            stride_time_cv=None if not np.isfinite(cv[i]) else float(cv[i]),
        )
        for i in range(len(day_bouts))
    )
    return replace(
        base,
        has_data=True,
        analysed_fraction=analysed,
        steps_n=int(day_bouts.n_steps.sum()),
        distance_m=float(day_bouts.distance_m.sum()),
        walking_min=float(dur.sum()) / 60.0,
        bouts_n=len(day_bouts),
        bouts_10s_n=int((dur > BOUT_THRESHOLDS_S[0]).sum()),
        bouts_30s_n=int((dur > BOUT_THRESHOLDS_S[1]).sum()),
        bouts_60s_n=int((dur > BOUT_THRESHOLDS_S[2]).sum()),
        bout_duration_median_s=_median(dur),
        bout_duration_p90_s=_pct(dur, 90),
        gait_speed_median_mps=_median(speed),
        gait_speed_p90_mps=_pct(speed[long10], 90),
        cadence_spm=_median(cad),
        step_time_s=_median(step_t),
        stride_time_s=_median(stride_t),
        stride_time_cv=_median(cv[long10]),
        turns_n=int(t_in.sum()),
        sit_to_stands_n=int(s_in.sum()),
        sit_to_stand_duration_s=_median(trans.duration_s[s_in]),
        handle_load_n=load.mean_n,
        handle_load_p95_n=load.p95_n,
        handle_asymmetry=load.asymmetry,
        bouts=records,
    )
