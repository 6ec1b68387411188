"""A walker's samples on one working grid: cut into runs at gaps, binned to a fixed rate.

The devices send frames of samples at ``t0 + i / rate_hz``; frames may be missing (device
asleep, data lost) and ``rate_hz`` may change between frames (a new configuration). Steps,
turns and sit-to-stands live below 3 Hz, so every algorithm works on one grid at
``work_rate_hz`` (10 Hz by default): each grid cell holds the mean of the samples that fall in
it (odometry: their sum), which is an anti-alias filter and a resampler in one, whatever the
input rate and however it changes. A whole day is binned in one pass, runs separated by empty
padding, so the algorithms run once per day rather than once per excursion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from analytics.gait._arrays import BoolArray, FloatArray, IntArray, as_float
from analytics.gait._cells import channel_group_sums, clipped_cells, fill_cells

__all__ = ["MAX_GAP_S", "MIN_RUN_S", "WORK_RATE_HZ", "Runs", "WalkerSignals", "split_runs"]

MAX_GAP_S = 0.5
"""Samples further apart than this belong to different runs (a gap: no data in between)."""

WORK_RATE_HZ = 10.0
"""Rate of the working grid (cells of 0.1 s)."""

MIN_RUN_S = 0.5
"""Runs shorter than this are counted as in-use time but not analysed (no step fits in)."""

PAD_S = 5.0
"""Empty padding between runs on the grid, so that filters do not carry one run into the next."""

GRAVITY_MPS2 = 9.80665

IMPACT_MPS2 = 2.0 * GRAVITY_MPS2
"""A cell whose mean acceleration departs from 1 g by more than this was hit (a collision,
often saturating the ±16-g accelerometer): no gravity or turn estimate is made from it."""


@dataclass(frozen=True)
class Runs:
    """Stretches of samples without a gap, ``[start, stop)`` into the day's arrays.

    Attributes
    ----------
    start, stop : ndarray of int64
    period_s : ndarray of float64
        Mean sample interval of each run (NaN for a run of one sample).
    """

    start: IntArray
    stop: IntArray
    period_s: FloatArray

    def __len__(self) -> int:
        return len(self.start)


def split_runs(t_s: npt.ArrayLike, *, max_gap_s: float = MAX_GAP_S) -> Runs:
    """Cut sample times into runs without gaps.

    A new run starts where the time does not increase (a duplicate, or the device clock
    stepping back when it synchronises) or jumps by more than ``max_gap_s``. Rates below
    ``1 / max_gap_s`` (2 Hz by default) give one run per sample.

    Parameters
    ----------
    t_s : array_like, shape (n,)
        Sample times (epoch seconds) in the order received.
    max_gap_s : float, optional

    Returns
    -------
    Runs
    """
    t = as_float(t_s)
    n = len(t)
    if n == 0:
        z = np.zeros(0, dtype=np.int64)
        return Runs(z, z, np.zeros(0))
    dt = np.diff(t)
    inside = (dt > 0.0) & (dt <= max_gap_s)
    cut = np.flatnonzero(~inside) + 1
    start = np.concatenate(([0], cut)).astype(np.int64)
    stop = np.concatenate((cut, [n])).astype(np.int64)
    # Mean interval per run: exact for a uniform run, and only used for the run's end.
    n_in = stop - start
    with np.errstate(invalid="ignore", divide="ignore"):
        period = np.where(n_in >= 2, (t[stop - 1] - t[start]) / (n_in - 1), np.nan)
    return Runs(start, stop, period)


@dataclass(frozen=True)
class WalkerSignals:
    """A walker's signals on the working grid (one or many runs, padded apart).

    Cell ``k`` covers ``[t_s[k] - 0.5 / fs_hz, t_s[k] + 0.5 / fs_hz)``. Cells of padding
    between runs have ``run_id == -1`` and zeros; inside a run, a cell that received no sample
    (input slower than the grid) or only missing values (NaN) is interpolated from its
    neighbours, and flagged per sensor where values were missing.

    Attributes
    ----------
    fs_hz : float
        Working rate.
    t_s : ndarray, shape (m,)
        Cell centres, epoch seconds, increasing (padding interpolated).
    run_id : ndarray of int64, shape (m,)
        Run of each cell, -1 for padding.
    acc_mps2, gyro_radps : ndarray, shape (m, 3)
        Mean acceleration (gravity included) and angular rate in the device frame.
    odo_l_m, odo_r_m : ndarray, shape (m,)
        Distance rolled by each wheel during the cell.
    force_l_n, force_r_n : ndarray, shape (m,)
        Mean handle loads.
    brake : ndarray, shape (m,), or None
        Fraction of the cell's samples with the brake engaged (None if not given; the
        current metrics do not use it).
    imu_ok, odo_ok, force_ok : ndarray of bool, shape (m,)
        Cells inside a run whose samples of that sensor were all present (no NaN); for the
        IMU also no impact (mean acceleration within 2 g of 1 g), for the load cells no
        reading at the top of the range.
    sampled_s : ndarray, shape (k, 2)
        Intervals covered by the input samples (each run, plus one sample period).
    """

    fs_hz: float
    t_s: FloatArray
    run_id: IntArray
    acc_mps2: FloatArray
    gyro_radps: FloatArray
    odo_l_m: FloatArray
    odo_r_m: FloatArray
    force_l_n: FloatArray
    force_r_n: FloatArray
    brake: FloatArray | None
    imu_ok: BoolArray
    odo_ok: BoolArray
    force_ok: BoolArray
    sampled_s: FloatArray

    def __len__(self) -> int:
        return len(self.t_s)

    @property
    def in_run(self) -> BoolArray:
        """Cells that belong to a run (not padding)."""
        out: BoolArray = self.run_id >= 0
        return out

    @classmethod
    def empty(
        cls, fs_hz: float = WORK_RATE_HZ, *, sampled_s: FloatArray | None = None
    ) -> WalkerSignals:
        """Signals with no cell (``sampled_s``: time covered by samples too few to analyse)."""
        z = np.zeros(0)
        return cls(
            fs_hz=fs_hz,
            t_s=z,
            run_id=np.zeros(0, dtype=np.int64),
            acc_mps2=np.zeros((0, 3)),
            gyro_radps=np.zeros((0, 3)),
            odo_l_m=z,
            odo_r_m=z,
            force_l_n=z,
            force_r_n=z,
            brake=None,
            imu_ok=np.zeros(0, dtype=bool),
            odo_ok=np.zeros(0, dtype=bool),
            force_ok=np.zeros(0, dtype=bool),
            sampled_s=np.zeros((0, 2)) if sampled_s is None else sampled_s,
        )

    @classmethod
    def from_arrays(
        cls,
        t_s: npt.ArrayLike,
        acc_mps2: npt.ArrayLike,
        gyro_radps: npt.ArrayLike,
        odo_l_m: npt.ArrayLike,
        odo_r_m: npt.ArrayLike,
        force_l_n: npt.ArrayLike,
        force_r_n: npt.ArrayLike,
        brake: npt.ArrayLike | None = None,
        *,
        work_rate_hz: float = WORK_RATE_HZ,
        max_gap_s: float = MAX_GAP_S,
        force_range_n: tuple[float, float] = (0.0, 1500.0),
    ) -> WalkerSignals:
        """Bin a device's samples onto the working grid.

        1. Drop samples with a NaN time; cut into runs at gaps (:func:`split_runs`); order
           runs by their start and drop samples of a run that overlap the previous one (a
           device clock stepping back when it synchronises). Runs shorter than
           ``MIN_RUN_S`` (0.5 s; also every sample of a device sending below 2 Hz) count as
           sampled time only.
        2. Lay out the grid: each run gets ``ceil(duration * work_rate_hz)`` cells from its
           first sample, runs are separated by ``PAD_S`` of padding.
        3. Every sample goes to its cell; per cell the mean of each channel over its finite
           samples (odometry: the sum), the share of braked samples, and flags for missing,
           clipped and saturated readings.
        4. Cells inside a run without a finite value are interpolated from their neighbours.

        Parameters
        ----------
        t_s : array_like, shape (n,)
            Sample times, epoch seconds, in the order received (each frame's samples at
            ``t0 + i / rate_hz``).
        acc_mps2, gyro_radps : array_like, shape (n, 3)
        odo_l_m, odo_r_m, force_l_n, force_r_n, brake : array_like, shape (n,)
        work_rate_hz : float, optional
        max_gap_s : float, optional
        force_range_n : tuple of float, optional
            Load-cell range; readings at either end count as clipped.

        Returns
        -------
        WalkerSignals
        """
        t = as_float(t_s)
        acc = as_float(acc_mps2).reshape(-1, 3)
        gyro = as_float(gyro_radps).reshape(-1, 3)
        chans1 = [as_float(x).reshape(-1) for x in (odo_l_m, odo_r_m, force_l_n, force_r_n)]
        br = None if brake is None else as_float(brake).reshape(-1)
        n = len(t)
        if any(len(x) != n for x in (acc, gyro, *chans1)) or (br is not None and len(br) != n):
            raise ValueError("all sample arrays must have the same length")
        # 1.
        keep = np.isfinite(t)
        if not keep.all():
            t, acc, gyro = t[keep], acc[keep], gyro[keep]
            br = None if br is None else br[keep]
            chans1 = [x[keep] for x in chans1]
        return cls._bin(
            t, acc, gyro, chans1, br, None, work_rate_hz=work_rate_hz, max_gap_s=max_gap_s,
            force_range_n=force_range_n,
        )  # fmt: skip

    @classmethod
    def from_packed(
        cls,
        t_s: npt.ArrayLike,
        samples: npt.NDArray[np.float32] | FloatArray,
        brake: npt.ArrayLike | None = None,
        *,
        work_rate_hz: float = WORK_RATE_HZ,
        max_gap_s: float = MAX_GAP_S,
        force_range_n: tuple[float, float] = (0.0, 1500.0),
    ) -> WalkerSignals:
        """:meth:`from_arrays` for the ten channels of a walker in one array, one row each.

        ``samples`` is ``(10, n)``, float32 or float64, one row per channel in the order of
        :data:`stayactive.db.walker_samples.CHANNELS` (acceleration, angular rate, odometry
        left and right, handle loads left and right). The result is bit for bit what
        :meth:`from_arrays` gives for the same values as float64 channel arrays; float32
        samples are binned without a converted copy, all ten channels at once.
        """
        t = as_float(t_s)
        values = np.asarray(samples)
        if values.dtype not in (np.float32, np.float64):
            values = values.astype(np.float64)
        if values.ndim != 2 or values.shape[0] != 10:
            raise ValueError(f"samples must have shape (10, n), not {values.shape}")
        br = None if brake is None else as_float(brake).reshape(-1)
        if values.shape[1] != len(t) or (br is not None and len(br) != len(t)):
            raise ValueError("all sample arrays must have the same length")
        # 1.
        keep = np.isfinite(t)
        if not keep.all():
            t, values = t[keep], values[:, keep]
            br = None if br is None else br[keep]
        values = np.ascontiguousarray(values)
        return cls._bin(
            t, values[0:3].T, values[3:6].T, list(values[6:10]), br, values,
            work_rate_hz=work_rate_hz, max_gap_s=max_gap_s, force_range_n=force_range_n,
        )  # fmt: skip

    @classmethod
    def _bin(
        cls,
        t: FloatArray,
        acc: npt.NDArray[Any],
        gyro: npt.NDArray[Any],
        chans1: list[npt.NDArray[Any]],
        br: FloatArray | None,
        packed: npt.NDArray[Any] | None,
        *,
        work_rate_hz: float,
        max_gap_s: float,
        force_range_n: tuple[float, float],
    ) -> WalkerSignals:
        """Steps 1 (after dropping NaN times) to 4 of :meth:`from_arrays`.

        ``acc``, ``gyro`` and ``chans1`` are float64, or float32 columns of ``packed``; see
        :meth:`from_packed`.
        """
        n = len(t)
        if n == 0:
            return cls.empty(work_rate_hz)
        runs = split_runs(t, max_gap_s=max_gap_s)
        period = np.where(np.isfinite(runs.period_s), runs.period_s, 1.0 / work_rate_hz)
        t0 = t[runs.start]
        t1 = t[runs.stop - 1] + period
        order = np.argsort(t0, kind="stable")
        prev_end = np.maximum.accumulate(np.concatenate(([-np.inf], t1[order][:-1])))
        lo = np.empty(len(order))
        lo[order] = np.maximum(t0[order], prev_end)
        sampled = _merge(np.column_stack([lo, np.maximum(t1, lo)]))
        # Runs too short to hold a step sequence count as in-use time but get no cells.
        long_enough = (t1 - lo) >= MIN_RUN_S
        if not long_enough.any():
            return cls.empty(work_rate_hz, sampled_s=sampled)
        order = order[long_enough[order]]
        # 2.
        fs = float(work_rate_hz)
        n_cells = np.maximum(np.ceil((t1 - lo) * fs - 1e-3), 1).astype(np.int64)
        pad = math.ceil(PAD_S * fs)
        n_sorted = n_cells[order]
        offs_sorted = pad + np.concatenate(([0], np.cumsum(n_sorted + pad)[:-1]))
        offset = np.zeros(len(runs), dtype=np.int64)
        offset[order] = offs_sorted
        m = int(offs_sorted[-1] + n_sorted[-1] + pad)
        rank = np.repeat(np.arange(len(order)), n_sorted)
        first_cell = np.concatenate(([0], np.cumsum(n_sorted)[:-1]))  # without padding
        within = np.arange(len(rank)) - np.repeat(first_cell, n_sorted)
        cells = offs_sorted[rank] + within
        run_id = np.full(m, -1, dtype=np.int64)
        run_id[cells] = rank
        in_run = run_id >= 0
        # 3.
        counts = runs.stop - runs.start
        # In place, a day being half a million samples: (t - lo) * fs, floored with a margin.
        rel = t - np.repeat(lo, counts)
        rel *= fs
        floor = rel + 1e-4
        np.floor(floor, out=floor)
        cell = floor.astype(np.int64)
        del floor
        np.minimum(cell, np.repeat(n_cells - 1, counts), out=cell)
        cell += np.repeat(offset, counts)
        if (lo > t[runs.start]).any() or not long_enough.all():
            # Samples before ``lo`` overlap the previous run, samples of short runs have no
            # cells: they go to an overflow bin.
            cell = np.where((rel >= 0.0) & np.repeat(long_enough, counts), cell, m)
        del rel
        # Summing consecutive samples of a cell handles three axes at once without strided
        # copies; it needs the cells in sample order (the usual case).
        ordered = bool(np.all(cell[1:] >= cell[:-1])) and int(cell[-1]) < m
        first_of_cell = np.flatnonzero(np.concatenate(([True], cell[1:] != cell[:-1])))
        if ordered:  # samples per cell without another pass over the samples
            count = np.zeros(m)
            count[cell[first_of_cell]] = np.diff(first_of_cell, append=n)
        else:
            count = np.bincount(cell, minlength=m + 1)[:m].astype(np.float64)
        inv = 1.0 / np.maximum(count, 1.0)
        hollow = in_run & (count == 0)  # inside a run but no sample (input slower than grid)
        any_hollow = bool(hollow.any())
        if packed is not None and not ordered:
            # The rare case (overlapping runs): as from float64 channel arrays.
            acc, gyro = as_float(acc), as_float(gyro)
            chans1 = [as_float(x) for x in chans1]
        # From packed samples in the usual case (in cell order), the cell sums of each channel
        # group (acc, gyro, odo_l, odo_r, force_l, force_r) without a missing value come from
        # ``channel_group_sums``, all ten channels at once, in the order of addition ``sums``
        # below follows (so the same to the last bit); None: ``binned`` computes them.
        presums: list[FloatArray | None] = [None] * 6
        if ordered and packed is not None:
            presums = channel_group_sums(packed, cell[first_of_cell], first_of_cell, m)
            # Groups with missing values take the general path, as float64.
            acc = acc if presums[0] is not None else as_float(acc)
            gyro = gyro if presums[1] is not None else as_float(gyro)
            chans1 = [x if presums[2 + j] is not None else as_float(x) for j, x in
                      enumerate(chans1)]  # fmt: skip

        def sums_1d(x: FloatArray) -> FloatArray:
            out1: FloatArray = np.bincount(cell, weights=x, minlength=m + 1)[:m].astype(np.float64)
            return out1

        # Not recursive on purpose: a closure that calls itself is a reference cycle, which
        # would keep ``cell`` (eight bytes a sample) alive until a full garbage collection.
        def sums(x: FloatArray) -> FloatArray:
            if x.ndim == 2 and ordered:
                out = np.zeros((m, x.shape[1]))
                out[cell[first_of_cell]] = np.add.reduceat(x, first_of_cell, axis=0)
                return out
            if x.ndim == 2:
                cols = [sums_1d(np.ascontiguousarray(x[:, j])) for j in range(x.shape[1])]
                return np.column_stack(cols)
            return sums_1d(x)

        def binned(
            x: FloatArray, missing: FloatArray, *, total: bool = False,
            s: FloatArray | None = None,
        ) -> FloatArray:  # fmt: skip
            """Per-cell mean (or sum) of ``x`` over its finite samples; NaN where none.

            ``s``: the cell sums of ``x`` when it is known to have no missing value."""
            if s is not None or np.isfinite(np.sum(x)):  # the usual case: nothing missing
                if s is None:
                    s = sums(x)
                if total:
                    return s
                out = s * (inv[:, None] if x.ndim == 2 else inv)
                if any_hollow:
                    out[hollow] = np.nan
                return out
            bad = ~np.isfinite(x)
            s = sums(np.where(bad, 0.0, x))
            n_bad = sums(bad.astype(np.float64))
            missing += n_bad if n_bad.ndim == 1 else n_bad.sum(axis=1)
            if total:
                return s
            n_ok = (count[:, None] if x.ndim == 2 else count) - n_bad
            out = s / np.maximum(n_ok, 1.0)
            out[(n_ok == 0) & (in_run[:, None] if x.ndim == 2 else in_run)] = np.nan
            return out

        miss_imu, miss_odo, miss_force = np.zeros(m), np.zeros(m), np.zeros(m)
        acc_c = binned(acc, miss_imu, s=presums[0])
        gyro_c = binned(gyro, miss_imu, s=presums[1])
        odo_l = binned(chans1[0], miss_odo, total=True, s=presums[2])
        odo_r = binned(chans1[1], miss_odo, total=True, s=presums[3])
        f_l = binned(chans1[2], miss_force, s=presums[4])
        f_r = binned(chans1[3], miss_force, s=presums[5])
        del presums
        brake_c = None if br is None else fill_cells(binned(br, np.zeros(m)), in_run)
        # A load cell clamps at zero by design (a hand off its handle reads 0); only the top
        # of the range is a clipped reading.
        force_clipped = clipped_cells(cell, m, chans1[2:4], force_range_n[1])
        # Cell centres inside runs from each run's own start; padding interpolated between.
        t_c = np.empty(m)
        t_c[cells] = np.repeat(lo[order], n_sorted) + (within + 0.5) / fs
        k = np.arange(m, dtype=np.float64)
        pads = ~in_run
        t_c[pads] = np.interp(k[pads], k[cells], t_c[cells])
        head = pads & (k < cells[0])
        tail = pads & (k > cells[-1])
        t_c[head] = t_c[cells[0]] - (cells[0] - k[head]) / fs
        t_c[tail] = t_c[cells[-1]] + (k[tail] - cells[-1]) / fs
        # 4.
        acc_c, gyro_c = fill_cells(acc_c, in_run), fill_cells(gyro_c, in_run)
        acc_norm = np.sqrt(np.einsum("ij,ij->i", acc_c, acc_c))
        f_l, f_r = fill_cells(f_l, in_run), fill_cells(f_r, in_run)
        return cls(
            fs_hz=fs,
            t_s=t_c,
            run_id=run_id,
            acc_mps2=acc_c,
            gyro_radps=gyro_c,
            odo_l_m=odo_l,
            odo_r_m=odo_r,
            force_l_n=f_l,
            force_r_n=f_r,
            brake=brake_c,
            imu_ok=in_run & (miss_imu == 0) & (np.abs(acc_norm - GRAVITY_MPS2) < IMPACT_MPS2),
            odo_ok=in_run & (miss_odo == 0),
            force_ok=in_run & (miss_force == 0) & ~force_clipped,
            sampled_s=sampled,
        )


def _merge(iv: FloatArray) -> FloatArray:
    """Union of intervals ``(k, 2)`` sorted by start."""
    if len(iv) == 0:
        return iv.reshape(0, 2)
    iv = iv[np.argsort(iv[:, 0], kind="stable")]
    end = np.maximum.accumulate(iv[:, 1])
    new = np.concatenate(([True], iv[1:, 0] > end[:-1]))
    starts = iv[new, 0]
    ends = np.maximum.reduceat(iv[:, 1], np.flatnonzero(new))
    out: FloatArray = np.column_stack([starts, ends])
    return out
