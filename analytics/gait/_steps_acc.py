"""Generic step detection from a 3-axis accelerometer in any orientation."""

from __future__ import annotations

import warnings
from typing import Any, Self

import numpy as np
import numpy.typing as npt
from scipy import signal as sps

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
    the lower back or on a walker frame, turned any way. It assumes no periodicity: each step
    is a local peak that must stand out from the signal around it, and steps only count in
    sequences, so irregular and very slow gait (40 steps/min) is handled.

    Processing steps
    ----------------
    1. Gravity direction from a moving average of each axis; the dynamic vertical acceleration
       is the projection on it minus its magnitude, limited to +/-2 g (impacts are not gait).
    2. Zero-phase band-pass (Butterworth, order 2) over the step band ``band_hz``
       (0.5-3.0 Hz: 30-180 steps/min).
    3. Local amplitude: root mean square of the band-passed signal over
       ``amplitude_window_s``.
    4. Candidate steps: positive peaks at least ``min_step_s`` apart whose prominence exceeds
       ``rel_prominence`` times the local peak-to-peak amplitude (2 sqrt 2 RMS) and
       ``min_amplitude_mps2``.
    5. Double peaks: of two candidates closer than ``min_rhythm_ratio`` times the local
       rhythm (running median of the nearest intervals), the smaller goes. This adapts to the
       person's own pace without assuming it is regular.
    6. Steps come in sequences: candidates are grouped where consecutive ones are at most
       ``max_break_s`` apart, and sequences of fewer than ``min_steps`` are dropped.

    Parameters
    ----------
    gravity_window_s : float
        Moving-average length for the gravity direction.
    band_hz : tuple of float
        Step band.
    amplitude_window_s : float
        Window of the local amplitude.
    min_amplitude_mps2 : float
        Smallest peak prominence accepted anywhere; below it there is no gait. The default
        suits a lower-back sensor; on a walker frame use about 0.08 with ``rel_prominence``
        0.4 (and expect over-counting: ``docs/metrics.md``).
    rel_prominence : float
        Required prominence as a fraction of the local peak-to-peak amplitude.
    min_step_s : float
        Shortest step (0.25 s is 240 steps/min).
    max_break_s : float
        Longest pause inside a step sequence (Mobilise-D uses 3 s between walking bouts).
    min_steps : int
        Shortest sequence of steps that counts (4: two strides).
    min_rhythm_ratio : float
        Two candidates closer than this fraction of the local step interval are one step.
        0.55 keeps shuffling steps of half a normal step apart in most cases.

    Attributes
    ----------
    ic_list_ : ndarray of int64
        Sample indices of the detected initial contacts, increasing.
    sequences_ : ndarray of int64, shape (k, 2)
        ``[start, stop)`` ranges into ``ic_list_`` of the step sequences.

    Notes
    -----
    The event marked is the peak of the loading response in the vertical acceleration, a
    nearly constant fraction of a step after the initial contact; step and stride times are
    unaffected by that lag, absolute event times are late by it. Mobilise-D's detectors
    (e.g. McCamley et al. 2012, as improved in mobgap) locate the contact itself through a
    wavelet of the integrated signal; we keep the simpler peak because the same code must
    work on a walker frame, where no heel-strike shape exists at slow speed.
    NaNs are not handled here: :func:`detect_steps` splits the signal at them.

    References
    ----------
    .. [1] Zijlstra W, Hof AL. Assessment of spatio-temporal gait parameters from trunk
       accelerations during human walking. Gait Posture 2003;18(2):1-10.
    .. [2] McCamley J, Donati M, Grimpampi E, Mazzà C. An enhanced estimate of initial contact
       and final contact instants of time using lower trunk inertial sensor data. Gait Posture
       2012;36(2):316-318.
    .. [3] Kluge F, Del Din S, Cereatti A, et al. Consensus based framework for digital
       mobility monitoring. PLoS One 2021;16(8):e0256541. doi:10.1371/journal.pone.0256541
    """

    def __init__(
        self,
        *,
        gravity_window_s: float = 2.0,
        band_hz: tuple[float, float] = (0.5, 3.0),
        amplitude_window_s: float = 3.0,
        min_amplitude_mps2: float = 0.1,
        rel_prominence: float = 0.3,
        min_step_s: float = 0.25,
        max_break_s: float = 3.0,
        min_steps: int = 4,
        min_rhythm_ratio: float = 0.55,
    ) -> None:
        self.gravity_window_s = gravity_window_s
        self.band_hz = band_hz
        self.amplitude_window_s = amplitude_window_s
        self.min_amplitude_mps2 = min_amplitude_mps2
        self.rel_prominence = rel_prominence
        self.min_step_s = min_step_s
        self.max_break_s = max_break_s
        self.min_steps = min_steps
        self.min_rhythm_ratio = min_rhythm_ratio
        self.ic_list_: IntArray = EMPTY_INT
        self.sequences_: IntArray = np.zeros((0, 2), dtype=np.int64)

    def detect(self, acc_mps2: npt.ArrayLike, *, sampling_rate_hz: float) -> Self:
        """Detect steps in ``acc_mps2`` (shape (n, 3), finite) sampled at ``sampling_rate_hz``."""
        acc = as_float(acc_mps2).reshape(-1, 3)
        fs = float(sampling_rate_hz)
        self.ic_list_ = EMPTY_INT
        self.sequences_ = np.zeros((0, 2), dtype=np.int64)
        if len(acc) < max(int(fs * self.min_step_s) * self.min_steps, 3):
            return self
        # 1.
        vert = np.clip(vertical_acceleration(acc, fs, self.gravity_window_s), -19.6, 19.6)
        # 2.
        x = zero_phase(butter_sos(2, tuple(self.band_hz), "bandpass", fs), vert)
        # 3.
        rms = np.sqrt(moving_mean(x * x, max(int(self.amplitude_window_s * fs), 1)))
        # 4.
        need = np.maximum(self.rel_prominence * 2.0 * np.sqrt(2.0) * rms, self.min_amplitude_mps2)
        peaks, _ = sps.find_peaks(
            x,
            height=0.0,
            distance=max(int(self.min_step_s * fs), 1),
            prominence=need,
            wlen=max(int(2.0 * self.max_break_s * fs), 3),
        )
        # 5.
        peaks = _prune_doubles(peaks, x, fs, self.max_break_s, self.min_rhythm_ratio)
        # 6.
        starts, stops = group_steps(
            peaks / fs, max_break_s=self.max_break_s, min_steps=self.min_steps
        )
        keep = np.zeros(len(peaks), dtype=bool)
        for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
            keep[a:b] = True
        self.ic_list_ = peaks[keep].astype(np.int64)
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
