"""Recordings for validation: one ``.npz`` per recording, from a lab set or a device export.

Format (``numpy.savez``; every key a plain array, no pickles), shared with the real-gait sets in
``shared/data/real-gait/`` and written by ``stayactive validate export``:

========================  ===========  =======================================================
key                       shape        meaning
========================  ===========  =======================================================
``acc_m_s2``              (n, 3)       acceleration with gravity, m/s², any orientation
``fs_hz``                 ()           sampling rate (nominal for device exports)
``t_s``                   (n,)         optional: sample times, epoch s (device exports)
``ref_ic_s``              (k,)         optional: reference steps, s from the first sample
``walking_bouts_s``       (b, 2)       optional: walking bouts of the reference, s
``uturn_s``               (2,)         optional: interval where the reference is incomplete
``population``            ()           optional: text; "healthy…" or anything else (impaired)
``subject``               ()           optional: who was recorded (leave-one-subject-out)
``placement``             ()           optional: where the sensor was
``device_id``             ()           device exports: the walker's id
``gyro_rad_s``            (n, 3)       device exports: angular rate, rad/s
``odo_l_m``, ``odo_r_m``  (n,)         device exports: wheel travel per sample, m
``force_l_n``, …          (n,)         device exports: ``force_r_n``, handle loads, N; ``brake``
========================  ===========  =======================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from stayactive.errors import RejectedInput

__all__ = ["Recording", "WalkerChannels", "load_dir", "load_recording", "save_recording",
           "subject_of"]  # fmt: skip

FloatArray = npt.NDArray[np.float64]

_SUBJECT_RULES = (
    # oxford_<placement>_<phone>_<person>_<n>: the same person in several placements
    (re.compile(r"^oxford_[^_]+_[^_]+_(?P<s>[^_]+)_\d+$"), "oxford_{s}"),
    # voisard_healthy_<subject>-<trial>
    (re.compile(r"^voisard_healthy_(?P<s>\d+)-\d+$"), "voisard_healthy_{s}"),
    # voisard_<cohort>_M<month>_…: one patient seen at two visits
    (re.compile(r"^voisard_(?P<s>[a-z_]+?)_M\d+(_.*)?$"), "voisard_{s}"),
    # anything else: the name without a trailing trial number
    (re.compile(r"^(?P<s>.+?)(?:[-_]\d+)?$"), "{s}"),
)


def subject_of(name: str) -> str:
    """Who a recording is of, from its file name (when the file has no ``subject`` key).

    The rules know the two real-gait sets (``oxford_<placement>_<phone>_<person>_<n>``;
    ``voisard_healthy_<subject>-<trial>``; ``voisard_<cohort>_M<month>_…``, one patient at
    several visits) and otherwise drop a trailing trial number (``walk-3`` → ``walk``).
    """
    for pattern, template in _SUBJECT_RULES:
        m = pattern.match(name)
        if m:
            return template.format(s=m.group("s"))
    return name


@dataclass(frozen=True)
class WalkerChannels:
    """The walker's other sensors, for a device export (same length as the acceleration)."""

    device_id: str
    gyro_radps: FloatArray
    odo_l_m: FloatArray
    odo_r_m: FloatArray
    force_l_n: FloatArray
    force_r_n: FloatArray
    brake: npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Recording:
    """One recording (see the module docstring for the file format)."""

    name: str
    acc_mps2: FloatArray
    fs_hz: float
    t_s: FloatArray | None = None
    ref_ic_s: FloatArray | None = None
    walking_bouts_s: FloatArray | None = None
    uturn_s: tuple[float, float] | None = None
    population: str = ""
    subject: str = ""
    placement: str = ""
    walker: WalkerChannels | None = None

    @property
    def impaired(self) -> bool:
        """Not a healthy population (``population`` not starting with "healthy")."""
        return not self.population.lower().startswith("healthy")

    @property
    def times_s(self) -> FloatArray:
        """Sample times from the first sample, s."""
        if self.t_s is not None:
            out: FloatArray = self.t_s - self.t_s[0]
            return out
        return np.arange(len(self.acc_mps2)) / self.fs_hz


def _text(z: np.lib.npyio.NpzFile, key: str) -> str:
    return str(z[key].item()) if key in z.files else ""


def _opt(z: np.lib.npyio.NpzFile, key: str) -> FloatArray | None:
    return np.asarray(z[key], dtype=np.float64) if key in z.files else None


_WALKER_KEYS = ("gyro_rad_s", "odo_l_m", "odo_r_m", "force_l_n", "force_r_n")


def _walker(z: np.lib.npyio.NpzFile, name: str, n: int) -> WalkerChannels | None:
    """The walker channels of a device export (None for an acceleration-only recording)."""
    if "odo_l_m" not in z.files:
        return None
    missing = [k for k in (*_WALKER_KEYS, "t_s") if k not in z.files]
    if missing:
        raise RejectedInput("recording_missing_key", f"{name}: no {', '.join(missing)}")
    arrays = {k: np.asarray(z[k], dtype=np.float64) for k in _WALKER_KEYS}
    wrong = [k for k, v in arrays.items() if len(v) != n]
    if wrong:
        raise RejectedInput("recording_bad_shape", f"{name}: {', '.join(wrong)} not {n} long")
    brake = np.asarray(z["brake"], dtype=bool) if "brake" in z.files else np.zeros(n, bool)
    return WalkerChannels(
        device_id=_text(z, "device_id"),
        gyro_radps=arrays["gyro_rad_s"].reshape(-1, 3),
        odo_l_m=arrays["odo_l_m"],
        odo_r_m=arrays["odo_r_m"],
        force_l_n=arrays["force_l_n"],
        force_r_n=arrays["force_r_n"],
        brake=brake,
    )


def _read(z: np.lib.npyio.NpzFile, path: Path) -> Recording:
    missing = [k for k in ("acc_m_s2", "fs_hz") if k not in z.files]
    if missing:
        raise RejectedInput("recording_missing_key", f"{path.name}: no {', '.join(missing)}")
    acc = np.asarray(z["acc_m_s2"], dtype=np.float64)
    fs = float(z["fs_hz"])
    if acc.ndim != 2 or acc.shape[1] != 3 or not fs > 0.0:
        raise RejectedInput("recording_bad_shape", f"{path.name}: acc_m_s2 {acc.shape}, fs_hz {fs}")
    t_s = _opt(z, "t_s")
    if t_s is not None and t_s.shape != (len(acc),):
        raise RejectedInput("recording_bad_shape", f"{path.name}: t_s {t_s.shape}")
    bouts = _opt(z, "walking_bouts_s")
    uturn = _opt(z, "uturn_s")
    return Recording(
        name=path.stem,
        acc_mps2=acc,
        fs_hz=fs,
        t_s=t_s,
        ref_ic_s=_opt(z, "ref_ic_s"),
        walking_bouts_s=None if bouts is None else bouts.reshape(-1, 2),
        uturn_s=None if uturn is None or uturn.size != 2 else (float(uturn[0]), float(uturn[1])),
        population=_text(z, "population"),
        subject=_text(z, "subject") or subject_of(path.stem),
        placement=_text(z, "placement"),
        walker=_walker(z, path.name, len(acc)),
    )


def load_recording(path: Path) -> Recording:
    """Read one ``.npz`` recording; a file that does not fit the format is a RejectedInput."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return _read(z, path)
    except RejectedInput:
        raise
    except (OSError, ValueError, KeyError, EOFError) as exc:
        raise RejectedInput("recording_unreadable", f"{path.name}: {exc}") from exc


def load_dir(folder: Path) -> tuple[list[Recording], list[RejectedInput]]:
    """Every ``.npz`` in ``folder`` (sorted by name), and the files that could not be read."""
    if not folder.is_dir():
        raise RejectedInput("recordings_not_found", f"{folder} is not a folder")
    files = sorted(folder.glob("*.npz"))
    if not files:
        raise RejectedInput("recordings_not_found", f"no .npz recording in {folder}")
    good: list[Recording] = []
    bad: list[RejectedInput] = []
    for f in files:
        try:
            good.append(load_recording(f))
        except RejectedInput as exc:
            bad.append(exc)
    return good, bad


def save_recording(path: Path, arrays: dict[str, npt.ArrayLike]) -> Path:
    """Write a recording in the format above (``acc_m_s2`` and ``fs_hz`` required)."""
    if "acc_m_s2" not in arrays or "fs_hz" not in arrays:
        raise ValueError("a recording needs acc_m_s2 and fs_hz")
    np.savez_compressed(path, **{k: np.asarray(v) for k, v in arrays.items()})  # type: ignore[arg-type]
    return path
