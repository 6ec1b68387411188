"""Step detection on the smart walker: handle-load alternation, odometry, gyro, acceleration."""

from __future__ import annotations

from typing import Self

import numpy as np
from scipy import signal as sps

from analytics.gait._arrays import (
    EMPTY_INT,
    BoolArray,
    FloatArray,
    IntArray,
    butter_sos,
    moving_mean,
    runs_of,
    zero_phase,
)
from analytics.gait._motion import WalkerMotion
from analytics.gait._signals import WalkerSignals

__all__ = ["StepDetectorWalker"]

_TURN_KNOTS_RADPS = (0.25, 0.5, 1.0)
"""Saturation points of the load shift in turns: the shift grows with the rate of turn, then
levels off, with a shape we do not know; three clipped copies of the rate span it."""


def _alternate(ext_i: IntArray, ext_sign: IntArray, x: FloatArray) -> tuple[IntArray, IntArray]:
    """Keep alternating maxima and minima: of consecutive extrema of one kind, the largest.

    ``ext_sign`` is +1 for a maximum and -1 for a minimum; ``x`` the signal.
    """
    if len(ext_i) == 0:
        return ext_i, ext_sign
    order = np.argsort(ext_i, kind="stable")
    ext_i, ext_sign = ext_i[order], ext_sign[order]
    new_group = np.concatenate(([True], ext_sign[1:] != ext_sign[:-1]))
    group = np.cumsum(new_group) - 1
    # The most extreme member of each group: largest sign * value, the first of equals.
    score = ext_sign * x[ext_i]
    if not np.isfinite(score).all():  # NaN has no maximum: the order a sort gives it
        best = np.lexsort((-score, group))  # by group, then by score descending
        first = np.concatenate(([True], group[best][1:] != group[best][:-1]))
        keep = np.sort(best[first])
        return ext_i[keep], ext_sign[keep]
    # The same choice without a sort: each group's maximum, and its first member reaching it.
    starts = np.flatnonzero(new_group)
    top = np.maximum.reduceat(score, starts)
    at_top = np.flatnonzero(score == top[group])
    keep = at_top[np.concatenate(([True], group[at_top][1:] != group[at_top][:-1]))]
    return ext_i[keep], ext_sign[keep]


def _stop_index(
    moving: BoolArray,
    speed: FloatArray,
    stop_mps: float,
    reach_samples: int,
    at: IntArray | None = None,
) -> IntArray:
    """For every sample (or those ``at``), the index where the walker next comes to a stop.

    The stop of a rolling stretch is one past the last sample faster than ``stop_mps`` up
    to ``reach_samples`` samples after the stretch (the 1-s rolling mask ends early).
    """
    n = len(speed)
    idx = np.arange(n) if at is None else at
    _, stops = runs_of(moving)
    if len(stops) == 0:
        return np.full(len(idx), n, dtype=np.int64)
    # The last sample faster than stop_mps at or before each stretch's reach.
    fast = np.flatnonzero(speed > stop_mps)
    reach = np.minimum(stops + reach_samples, n) - 1
    before = np.searchsorted(fast, reach, side="right") - 1
    if len(fast):
        run_stop = np.where(before >= 0, fast[np.maximum(before, 0)], -1) + 1
    else:
        run_stop = np.zeros(len(stops), dtype=np.int64)
    which = np.searchsorted(stops, idx, side="right")
    out: IntArray = np.where(which < len(stops), run_stop[np.minimum(which, len(stops) - 1)], n)
    return out.astype(np.int64)


def _lag(ref: FloatArray, ev: FloatArray, default: float) -> float:
    """Median delay (cells) of events ``ev`` after the nearest reference events ``ref``.

    Only pairs closer than 0.4 of the median reference interval count; with fewer than five
    pairs ``default`` is returned.
    """
    if len(ref) >= 6 and len(ev):
        step = float(np.median(np.diff(ref)))
        j = np.clip(np.searchsorted(ref, ev), 1, len(ref) - 1)
        d_prev = ev - ref[j - 1]
        d_next = ev - ref[j]
        d = np.where(np.abs(d_prev) <= np.abs(d_next), d_prev, d_next)
        d = d[np.abs(d) < 0.4 * step]
        if len(d) >= 5:
            return float(np.median(d))
    return default


def _refine(x: FloatArray, idx: IntArray, sign: IntArray) -> FloatArray:
    """Sub-cell position of extrema by a parabola through each extremum and its neighbours."""
    if len(idx) == 0:
        return np.zeros(0)
    i = np.clip(idx, 1, len(x) - 2)
    y0, y1, y2 = x[i - 1] * sign, x[i] * sign, x[i + 1] * sign
    den = y0 - 2.0 * y1 + y2
    off = np.where(den < 0.0, 0.5 * (y0 - y2) / np.where(den < 0.0, den, -1.0), 0.0)
    out: FloatArray = idx + np.clip(off, -0.5, 0.5)
    return out


class StepDetectorWalker:
    """Detect the steps of a person walking with the smart walker (sensor fusion).

    A walker user loads the handles in a rhythm: the total load rises and falls once per
    step, and the load shifts between the left and right handle once per stride (towards
    the left at one step, the right at the next). The load wave counts the steps; the
    left/right swing times them and tells the side; the odometry says when the walker rolls
    and when it stops; gyro and acceleration give the rate of turn, which also shifts the
    load (to the inner hand) and is removed first. Where the handle loads cannot be read
    the walker's forward speed, which surges once per step as the user pushes, counts the
    steps instead.

    Processing steps
    ----------------
    1. Motion of the walker (:class:`WalkerMotion`). Steps are looked for while it rolls,
       and up to ``start_guard_s`` before the rolling mask switches on if the walker is
       already creeping forward (faster than ``creep_mps``).
    2. Left/right share ``(L - R) / (L + R)`` where the handles are held. The part explained
       by the rate of turn (least squares on the rate clipped at 0.25, 0.5 and 1 rad/s, with
       a constant) is subtracted, then a zero-phase band-pass ``band_hz``. Its alternating
       extremes (prominence rule below; of consecutive extremes of one kind the largest)
       are the *swings*.
    3. Load wave: total load over its 2-s moving mean, minus 1, band-passed; its peaks are
       the steps.
    4. Where the walker rolls but the handle loads are unusable (not held, missing or
       clipped): peaks of the band-passed forward speed are the steps instead.
    5. Prominence rule for 2-4: a swing of at least ``rel_prominence`` times the typical
       one (peak-to-peak of a sinusoid with the same median absolute value) and at least a
       floor (``min_swing``, ``min_wave``, ``min_surge_mps``) on one side, half of it on the
       other (the first step starts from an even stance, the last ends in one); peaks at
       least ``min_step_s`` apart.
    6. Timing: each peak is placed between grid cells by a parabola, then moved back by its
       source's median delay after the swings, so every step is timed like the swings.
       The side is the nearest swing's within 0.25 s, else 0.
    7. Stopping: a step in the last ``stop_guard_s`` before the walker stops (speed under
       ``stop_mps``) is the load settling as the user stops, and is dropped.

    Parameters
    ----------
    band_hz : tuple of float
        Band of the load signals (stride and step frequencies of 30-180 steps/min).
    rel_prominence : float
        Required swing as a fraction of the typical one.
    min_swing, min_wave : float
        Floors of the left/right share and of the relative load wave.
    min_surge_mps : float
        Floor of the speed surge (fallback).
    min_step_s : float
        Shortest step.
    stop_guard_s, stop_mps : float
        See step 7.
    start_guard_s, creep_mps : float
        See step 1.

    Attributes
    ----------
    ic_list_ : ndarray of int64
        Grid cells of the detected initial contacts.
    ic_s_ : ndarray
        Their times (epoch seconds), refined between cells.
    side_ : ndarray of int8
        +1 when the left handle carried more load at the step, -1 the right, 0 unknown.
    share_ : ndarray
        The cleaned left/right share (step 2), for inspection.

    Notes
    -----
    The thresholds were set on simulated walker signals (``docs/simulator.md``), whose load
    wave, swing and their timing are modelled assumptions; step 7 in particular mirrors how
    the simulator brings the walker to a stop and needs checking against recordings of the
    real device. The event marked is the extreme of the left/right swing, which in the
    simulator falls within 0.03 s of the initial contact (5th-95th percentile).

    References
    ----------
    .. [1] Costamagna E, Thies SB, Kenney LPJ, et al. Objective measures of rollator user
       stability and device loading during different walking scenarios. PLoS One
       2019;14(1):e0210960. doi:10.1371/journal.pone.0210960
    .. [2] Alkjær T, Larsen PK, Pedersen G, Nielsen LH, Simonsen EB. Biomechanical analysis of
       rollator walking. Biomed Eng Online 2006;5:2. doi:10.1186/1475-925X-5-2
    """

    def __init__(
        self,
        *,
        band_hz: tuple[float, float] = (0.15, 3.0),
        rel_prominence: float = 0.35,
        min_swing: float = 0.1,
        min_wave: float = 0.05,
        min_surge_mps: float = 0.02,
        min_step_s: float = 0.25,
        stop_guard_s: float = 0.3,
        start_guard_s: float = 0.5,
        creep_mps: float = 0.005,
        stop_mps: float = 0.04,
    ) -> None:
        self.band_hz = band_hz
        self.rel_prominence = rel_prominence
        self.min_swing = min_swing
        self.min_wave = min_wave
        self.min_surge_mps = min_surge_mps
        self.min_step_s = min_step_s
        self.stop_guard_s = stop_guard_s
        self.start_guard_s = start_guard_s
        self.creep_mps = creep_mps
        self.stop_mps = stop_mps
        self.ic_list_: IntArray = EMPTY_INT
        self.ic_s_: FloatArray = np.zeros(0)
        self.side_: np.ndarray[tuple[int], np.dtype[np.int8]] = np.zeros(0, dtype=np.int8)
        self.share_: FloatArray = np.zeros(0)

    def _peaks(
        self, x: FloatArray, allowed: BoolArray, fs: float, floor: float, *, both: bool
    ) -> tuple[IntArray, IntArray]:
        """Step 5: prominent extrema of ``x`` inside ``allowed`` (alternated if ``both``).

        Prominence: at least ``rel_prominence`` of the typical swing (the peak-to-peak of a
        sinusoid with the median ``|x|`` where allowed) and at least ``floor``.
        """
        if allowed.sum() < 3:
            return EMPTY_INT, EMPTY_INT
        # Peak-to-peak of a sinusoid with the same median absolute value: robust to the
        # transients of starting and stopping. Every third cell is plenty for a median.
        typical = 2.0 * np.sqrt(2.0) * float(np.median(np.abs(x[np.flatnonzero(allowed)[::3]])))
        need = max(self.rel_prominence * typical, floor)
        dist = max(int(self.min_step_s * fs), 1)
        wlen = max(int(6.0 * fs), 3)

        def extrema(y: FloatArray) -> IntArray:
            # A full swing on one side, at least half of one on the other: the first step
            # starts from an even stance, the last ends in one.
            pk, props = sps.find_peaks(y, prominence=0.5 * need, distance=dist, wlen=wlen)
            drop_l = y[pk] - y[props["left_bases"]]
            drop_r = y[pk] - y[props["right_bases"]]
            ok = allowed[pk] & (np.maximum(drop_l, drop_r) >= need)
            out: IntArray = pk[ok].astype(np.int64)
            return out

        hi = extrema(x)
        if not both:
            return hi, np.zeros(len(hi), dtype=np.int64)
        lo = extrema(-x)
        idx = np.concatenate((hi, lo))
        sign = np.concatenate((np.ones(len(hi), np.int64), -np.ones(len(lo), np.int64)))
        return _alternate(idx, sign, x)

    def detect(self, signals: WalkerSignals, motion: WalkerMotion | None = None) -> Self:
        """Detect steps in walker signals (``motion`` is computed if not given)."""
        n = len(signals)
        fs = signals.fs_hz
        self.ic_list_ = EMPTY_INT
        self.ic_s_ = np.zeros(0)
        self.side_ = np.zeros(0, dtype=np.int8)
        self.share_ = np.zeros(n)
        if n < 3:
            return self
        # 1.
        mo = motion if motion is not None else WalkerMotion.from_signals(signals)
        start_samples = int(self.start_guard_s * fs)
        # A step may come just before the 1-s rolling mask switches on, but never while the
        # walker stands quite still.
        soon = np.concatenate((mo.moving[start_samples:], np.zeros(min(start_samples, n), bool)))
        rolling = mo.moving | (soon & (mo.speed_mps > self.creep_mps))
        if not rolling.any():
            return self
        sos = butter_sos(2, tuple(self.band_hz), "bandpass", fs)
        # 2.
        fl, fr = signals.force_l_n, signals.force_r_n
        usable = mo.held
        total = np.where(usable, mo.total_force_n, 1.0)
        share = np.where(usable, (fl - fr) / total, 0.0)
        fit = mo.moving & usable
        if fit.sum() > fs:
            # The fit runs on the raw share (with a constant for the grip asymmetry), so that
            # only the corrected share needs filtering.
            yaw = mo.yaw_rate_radps
            basis = np.column_stack([np.clip(yaw, -k, k) for k in _TURN_KNOTS_RADPS])
            design = np.empty((int(fit.sum()), 1 + basis.shape[1]))
            design[:, 0] = 1.0
            design[:, 1:] = basis[fit]
            # Normal equations of a 4-column least squares; the small ridge keeps them
            # solvable when the walker never turned (clipped copies then coincide).
            gram = design.T @ design
            gram += 1e-9 * np.trace(gram) * np.eye(len(gram))
            coef = np.linalg.solve(gram, design.T @ share[fit])
            share = np.where(usable, share - basis @ coef[1:], 0.0)
        share = zero_phase(sos, share)
        self.share_ = share
        swing, swing_side = self._peaks(share, rolling & usable, fs, self.min_swing, both=True)
        # 3.
        level = moving_mean(total, int(2.0 * fs))
        wave = zero_phase(sos, np.where(usable, total / level - 1.0, 0.0))
        ic_wave, _ = self._peaks(wave, rolling & usable, fs, self.min_wave, both=False)
        # 4.
        blind = rolling & ~usable
        ic_surge = EMPTY_INT
        surge = np.zeros(0)
        if blind.sum() > fs:
            surge = zero_phase(sos, mo.speed_mps)
            ic_surge, _ = self._peaks(surge, blind, fs, self.min_surge_mps, both=False)
        # 6.
        swing_t = _refine(share, swing, swing_side)
        wave_t = _refine(wave, ic_wave, np.ones(len(ic_wave), np.int64))
        surge_t = _refine(surge, ic_surge, np.ones(len(ic_surge), np.int64))
        ic_t = np.concatenate(
            (
                wave_t - _lag(swing_t, wave_t, 0.1 * fs),
                surge_t - _lag(swing_t, surge_t, 0.18 * fs),
            )
        )
        ic_t = np.sort(ic_t[(ic_t >= 0) & (ic_t <= n - 1)])
        side = np.zeros(len(ic_t), np.int64)
        if len(swing_t) and len(ic_t):
            j = np.clip(np.searchsorted(swing_t, ic_t), 1, len(swing_t)) - 1
            j2 = np.minimum(j + 1, len(swing_t) - 1)
            j = np.where(np.abs(swing_t[j2] - ic_t) < np.abs(swing_t[j] - ic_t), j2, j)
            near = np.abs(swing_t[j] - ic_t) < 0.25 * fs
            side = np.where(near, swing_side[j], 0)
        # 7.
        ic = np.round(ic_t).astype(np.int64)
        if len(ic):
            stop = _stop_index(mo.moving, mo.speed_mps, self.stop_mps, int(0.5 * fs), ic)
            ok = (stop - ic_t) > self.stop_guard_s * fs
            ic, ic_t, side = ic[ok], ic_t[ok], side[ok]
        self.ic_list_ = ic
        self.ic_s_ = np.interp(ic_t, np.arange(n, dtype=np.float64), signals.t_s)
        self.side_ = side.astype(np.int8)
        return self
