"""Generic step detection from a 3-axis accelerometer in any orientation."""

from __future__ import annotations

import warnings
from typing import Any, Self

import numpy as np
import numpy.typing as npt
from scipy.ndimage import gaussian_filter1d

from analytics.gait._arrays import (
    EMPTY_INT,
    BoolArray,
    FloatArray,
    IntArray,
    as_float,
    butter_sos,
    moving_mean,
    runs_of,
    zero_phase,
)

__all__ = ["StepDetectorVerticalAcc", "detect_steps", "group_steps", "vertical_acceleration"]

GRAVITY_MPS2 = 9.80665

_SIGMA_BANK = np.array([1.0, 0.8, 0.64, 0.5])
"""Widths of the rise signal's Gaussian, as fractions of ``rise_sigma_s`` (step 3)."""


def vertical_acceleration(acc_mps2: FloatArray, fs_hz: float, window_s: float) -> FloatArray:
    """Dynamic acceleration along the estimated gravity direction (any sensor orientation).

    Gravity is the moving average of each axis over ``window_s``; the projection of the
    acceleration on its direction, minus its magnitude, leaves the vertical motion.
    """
    n = max(round(window_s * fs_hz), 1)
    g = np.column_stack([moving_mean(acc_mps2[:, j], n) for j in range(3)])
    g_norm = np.sqrt(np.einsum("ij,ij->i", g, g))
    safe = np.where(g_norm > 0.0, g_norm, 1.0)
    out: FloatArray = np.einsum("ij,ij->i", acc_mps2, g) / safe - g_norm
    return out


def _prune_doubles(
    peaks: IntArray, x: FloatArray, fs: float, max_break_s: float, ratio: float
) -> IntArray:
    """Drop the smaller of two peaks much closer together than the local rhythm.

    The rhythm is the running median of the seven nearest peak intervals (below
    ``max_break_s``); two peaks closer than ``ratio`` times it are one step seen twice (a
    heel-strike ring, a bump). Repeated until nothing changes (at most five passes).
    """
    for _ in range(5):
        if len(peaks) < 4:
            return peaks
        d = np.diff(peaks) / fs
        d_ok = np.where(d <= max_break_s, d, np.nan)
        k = 3
        padded = np.concatenate((np.full(k, np.nan), d_ok, np.full(k, np.nan)))
        windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * k + 1)
        with warnings.catch_warnings():  # all-NaN windows (isolated peaks) are expected
            warnings.simplefilter("ignore", RuntimeWarning)
            rhythm = np.nanmedian(windows, axis=1)
        close = d < ratio * np.where(np.isfinite(rhythm), rhythm, 0.0)
        if not close.any():
            return peaks
        i = np.flatnonzero(close)
        # Of each close pair, drop the lower peak (never both members of overlapping pairs).
        drop = np.where(x[peaks[i]] < x[peaks[i + 1]], i, i + 1)
        keep = np.ones(len(peaks), dtype=bool)
        keep[np.unique(drop)] = False
        peaks = peaks[keep]
    return peaks


def _lobe_maxima(x: FloatArray) -> IntArray:
    """Index of the maximum of every run of positive values of ``x``, increasing."""
    pos = np.flatnonzero(x > 0.0)
    if len(pos) == 0:
        return EMPTY_INT
    run = np.cumsum(np.concatenate(([1], np.diff(pos) > 1)))
    order = np.lexsort((-x[pos], run))  # by run, then by value descending
    first = np.concatenate(([True], run[order][1:] != run[order][:-1]))
    out: IntArray = np.sort(pos[order[first]]).astype(np.int64)
    return out


def group_steps(
    ic_s: FloatArray, *, max_break_s: float, min_steps: int
) -> tuple[IntArray, IntArray]:
    """Group step times into sequences; keep those with at least ``min_steps`` steps.

    A sequence ends where two consecutive steps are more than ``max_break_s`` apart.

    Returns
    -------
    starts, stops : ndarray of int64
        Index ranges ``[start, stop)`` into ``ic_s`` of the kept sequences.
    """
    if len(ic_s) == 0:
        return EMPTY_INT, EMPTY_INT
    cut = np.flatnonzero(np.diff(ic_s) > max_break_s) + 1
    starts = np.concatenate(([0], cut)).astype(np.int64)
    stops = np.concatenate((cut, [len(ic_s)])).astype(np.int64)
    keep = stops - starts >= min_steps
    return starts[keep], stops[keep]


class StepDetectorVerticalAcc:
    """Detect steps (initial contacts) in 3-axis acceleration worn or mounted in any orientation.

    Works on the vertical component only, estimated from the data, so the sensor may sit at
    the lower back, on the trunk or on a walker frame, turned any way. It assumes no
    periodicity: each step is the sharp rise of the vertical acceleration when a foot takes
    the body's weight, which must stand out from the signal around it, and steps only count
    in sequences, so irregular, asymmetric and very slow gait (40 steps/min) is handled.

    Processing steps
    ----------------
    1. Gravity direction from a moving average of each axis; the dynamic vertical acceleration
       is the projection on it minus its magnitude, limited to +/-2 g (impacts are not gait).
    2. Zero-phase band-pass (Butterworth, order 2) over ``band_hz`` (0.25-3.0 Hz).
    3. Rise signal: the time derivative of the band-passed signal smoothed by a Gaussian of
       ``rise_sigma_s`` (m/s^3). Its maxima are the steepest rises of the vertical
       acceleration, the loading at initial contact; this is, up to a scale, the Gaussian
       wavelet transform of the integrated signal of McCamley et al. [2] as modified by
       Paraschiv-Ionescu et al. [3] (smoothing instead of their 40-Hz resampling). Where
       fast steps need a narrower Gaussian (``rise_sigma_cycles`` of the local mean period,
       from Rice's formula over ``amplitude_window_s``, is shorter), the nearest of 0.8,
       0.64 and 0.5 times ``rise_sigma_s`` is used there.
    4. Local amplitude: root mean square of the rise signal over ``amplitude_window_s``.
    5. Candidate steps: the maximum of every positive lobe of the rise signal (between two
       zero crossings) that reaches ``rel_height`` times the local peak amplitude
       (sqrt 2 RMS) and ``min_rise_mps3``. A lobe, not a prominence, so that the weak step of
       an asymmetric gait is not hidden by the strong one beside it.
    6. Double lobes: of two candidates closer than ``min_rhythm_ratio`` times the local
       rhythm (running median of the nearest intervals), the smaller goes. This adapts to the
       person's own pace without assuming it is regular.
    7. Steps come in sequences: candidates are grouped where consecutive ones are at most
       ``max_break_s`` apart, and sequences of fewer than ``min_steps`` are dropped.
    8. Event time: the lobe maximum plus ``event_delay_s``, the lag from the steepest
       smoothed rise to the initial contact.

    Parameters
    ----------
    gravity_window_s : float
        Moving-average length for the gravity direction.
    band_hz : tuple of float
        Pass band of step 2.
    rise_sigma_s : float
        Standard deviation of the Gaussian of step 3. Wider suppresses the several small
        rises of one slow step; narrower separates fast steps.
    rise_sigma_cycles : float
        Widest Gaussian as a fraction of the local mean period (step 3): 0.33 narrows the
        Gaussian above about 2 steps/s (120 steps/min).
    amplitude_window_s : float
        Window of the local amplitude.
    rel_height : float
        Required lobe height as a fraction of the local peak amplitude.
    min_rise_mps3 : float
        Smallest lobe height accepted anywhere; below it there is no gait.
    min_rhythm_ratio : float
        Two candidates closer than this fraction of the local step interval are one step.
        0.35 keeps the weak step of a limping gait, which comes half a stride after the strong
        one, where the rhythm seen is the stride.
    max_break_s : float
        Longest pause inside a step sequence (Mobilise-D uses 3 s between walking bouts).
    min_steps : int
        Shortest sequence of steps that counts (4: two strides).
    event_delay_s : float
        See step 8.

    Attributes
    ----------
    ic_list_ : ndarray of int64
        Sample indices of the detected initial contacts, increasing.
    sequences_ : ndarray of int64, shape (k, 2)
        ``[start, stop)`` ranges into ``ic_list_`` of the step sequences.

    Notes
    -----
    The defaults were chosen on real recordings: 12 trunk and rear-pocket phone recordings
    of healthy adults (CC BY 4.0, committed under ``tests/fixtures/``) and 114 lower-back
    recordings of healthy adults and of people with multiple sclerosis or an orthopaedic
    gait impairment (AGPL-3.0, used by path). The choice was checked by leave-one-subject-out
    (``stayactive validate gait --loso``); ``docs/metrics.md`` gives both figures.
    Deviations from [3]: no resampling to 40 Hz (the Gaussian does the smoothing at any rate),
    a Butterworth band-pass instead of their fixed EPFL gait filter, and the amplitude,
    rhythm and sequence rules of steps 5-7, which they leave to a gait-sequence detector run
    first.
    NaNs are not handled here: :func:`detect_steps` splits the signal at them.

    References
    ----------
    .. [1] Zijlstra W, Hof AL. Assessment of spatio-temporal gait parameters from trunk
       accelerations during human walking. Gait Posture 2003;18(2):1-10.
       doi:10.1016/S0966-6362(02)00190-X
    .. [2] McCamley J, Donati M, Grimpampi E, Mazzà C. An enhanced estimate of initial contact
       and final contact instants of time using lower trunk inertial sensor data. Gait Posture
       2012;36(2):316-318. doi:10.1016/j.gaitpost.2012.02.019
    .. [3] Paraschiv-Ionescu A, Soltani A, Aminian K. Real-world speed estimation using single
       trunk IMU: methodological challenges for impaired gait patterns. Proc IEEE EMBC 2020:
       4596-4599. doi:10.1109/EMBC44109.2020.9176281
    .. [4] Kluge F, Del Din S, Cereatti A, et al. Consensus based framework for digital
       mobility monitoring. PLoS One 2021;16(8):e0256541. doi:10.1371/journal.pone.0256541
    """

    def __init__(
        self,
        *,
        gravity_window_s: float = 2.0,
        band_hz: tuple[float, float] = (0.25, 3.0),
        rise_sigma_s: float = 0.16,
        rise_sigma_cycles: float = 0.33,
        amplitude_window_s: float = 3.0,
        rel_height: float = 0.15,
        min_rise_mps3: float = 0.5,
        min_rhythm_ratio: float = 0.35,
        max_break_s: float = 3.0,
        min_steps: int = 4,
        event_delay_s: float = 0.04,
    ) -> None:
        self.gravity_window_s = gravity_window_s
        self.band_hz = band_hz
        self.rise_sigma_s = rise_sigma_s
        self.rise_sigma_cycles = rise_sigma_cycles
        self.amplitude_window_s = amplitude_window_s
        self.rel_height = rel_height
        self.min_rise_mps3 = min_rise_mps3
        self.min_rhythm_ratio = min_rhythm_ratio
        self.max_break_s = max_break_s
        self.min_steps = min_steps
        self.event_delay_s = event_delay_s
        self.ic_list_: IntArray = EMPTY_INT
        self.sequences_: IntArray = np.zeros((0, 2), dtype=np.int64)

    def _rise(self, x: FloatArray, fs: float) -> FloatArray:
        """Step 3: derivative of ``x`` smoothed by a Gaussian that narrows for fast steps."""
        n_win = max(int(self.amplitude_window_s * fs), 1)
        dx = np.gradient(x) * fs
        # Rice's mean frequency (zero crossings per second / 2) of the band-passed signal:
        # the step frequency where one step dominates, higher where harmonics do.
        with np.errstate(invalid="ignore", divide="ignore"):
            f_mean = np.sqrt(moving_mean(dx * dx, n_win) / moving_mean(x * x, n_win))
        f_mean = np.nan_to_num(f_mean / (2.0 * np.pi), nan=0.0, posinf=0.0)
        want = np.minimum(self.rise_sigma_s, self.rise_sigma_cycles / np.maximum(f_mean, 1e-6))
        out = np.zeros_like(x)
        # A small bank of widths, each used where it is the nearest to the wanted one.
        bank = self.rise_sigma_s * _SIGMA_BANK
        pick = np.argmin(np.abs(np.log(want[:, None] / bank[None, :])), axis=1)
        for k in np.unique(pick).tolist():
            smooth = gaussian_filter1d(x, float(bank[k]) * fs, order=1, mode="nearest") * fs
            out[pick == k] = smooth[pick == k]
        return out

    def detect(self, acc_mps2: npt.ArrayLike, *, sampling_rate_hz: float) -> Self:
        """Detect steps in ``acc_mps2`` (shape (n, 3), finite) sampled at ``sampling_rate_hz``."""
        acc = as_float(acc_mps2).reshape(-1, 3)
        fs = float(sampling_rate_hz)
        self.ic_list_ = EMPTY_INT
        self.sequences_ = np.zeros((0, 2), dtype=np.int64)
        # Too short for min_steps steps even at 240 steps/min.
        if len(acc) < max(int(fs * 0.25) * self.min_steps, 3):
            return self
        # 1. VERTICAL ACCELERATION
        vert = np.clip(vertical_acceleration(acc, fs, self.gravity_window_s), -19.6, 19.6)
        # 2. BAND-PASS
        x = zero_phase(butter_sos(2, tuple(self.band_hz), "bandpass", fs), vert)
        # 3. RISE SIGNAL
        rise = self._rise(x, fs)
        # 4. LOCAL AMPLITUDE
        rms = np.sqrt(moving_mean(rise * rise, max(int(self.amplitude_window_s * fs), 1)))
        # 5. CANDIDATES: ONE PER POSITIVE LOBE
        peaks = _lobe_maxima(rise)
        need = np.maximum(self.rel_height * np.sqrt(2.0) * rms, self.min_rise_mps3)
        peaks = peaks[rise[peaks] >= need[peaks]]
        # 6. DOUBLE LOBES
        peaks = _prune_doubles(peaks, rise, fs, self.max_break_s, self.min_rhythm_ratio)
        # 7. SEQUENCES
        starts, stops = group_steps(
            peaks / fs, max_break_s=self.max_break_s, min_steps=self.min_steps
        )
        keep = np.zeros(len(peaks), dtype=bool)
        for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
            keep[a:b] = True
        # 8. EVENT TIME
        shifted = peaks[keep] + round(self.event_delay_s * fs)
        self.ic_list_ = np.clip(shifted, 0, len(acc) - 1).astype(np.int64)
        lengths = stops - starts
        ends = np.cumsum(lengths)
        self.sequences_ = np.column_stack([ends - lengths, ends]).astype(np.int64)
        return self


def detect_steps(acc_mps2: npt.ArrayLike, fs_hz: float, **params: Any) -> IntArray:
    """Sample indices of steps (initial contacts) in 3-axis acceleration, any orientation.

    A functional front to :class:`StepDetectorVerticalAcc` that also handles missing data:
    rows with a NaN split the signal, and each finite stretch is analysed on its own (no step
    is reported inside a NaN stretch).

    Parameters
    ----------
    acc_mps2 : array_like, shape (n, 3)
        Acceleration with gravity, m/s^2.
    fs_hz : float
        Sampling rate.
    **params
        Keyword parameters of :class:`StepDetectorVerticalAcc`.

    Returns
    -------
    ndarray of int64
        Increasing sample indices; empty for empty, one-sample or all-NaN input.

    Examples
    --------
    >>> import numpy as np
    >>> detect_steps(np.zeros((0, 3)), 50.0).tolist()
    []
    """
    acc = as_float(acc_mps2).reshape(-1, 3)
    finite: BoolArray = np.asarray(np.isfinite(acc).all(axis=1), dtype=bool)
    starts, stops = runs_of(finite)
    found: list[IntArray] = []
    for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
        det = StepDetectorVerticalAcc(**params).detect(acc[a:b], sampling_rate_hz=fs_hz)
        found.append(det.ic_list_ + a)
    return np.concatenate(found).astype(np.int64) if found else EMPTY_INT
