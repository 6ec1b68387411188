"""How walker samples are laid out in ``walker_frames`` (migration 0011): one owner for ingest,
which writes them, and analytics, which reads them.

A frame of ``n`` samples is stored in two ``bytea`` columns:

``samples``
    ``n x 10`` IEEE-754 float32, big-endian (network order, as PostgreSQL's ``float4send``),
    sample-major: per sample the ten :data:`CHANNELS` in order, 40 bytes.
``brake_mask``
    ``n`` bytes, 1 while the parking brake was engaged, else 0.

Sample-major means that a resident-day's frames, concatenated, are one ``(N, 10)`` float32
matrix, read without a loop over frames. The arrays (``real[]``) this replaced cost ~45 ns of
server CPU per value to send; see ``docs/performance.md``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["BYTES_PER_SAMPLE", "CHANNELS", "SAMPLE_DTYPE", "pack_brake", "pack_samples"]

CHANNELS = (
    "acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z", "odo_l", "odo_r", "force_l", "force_r",
)  # fmt: skip
"""The walker's sample channels, in the wire's and in storage order."""

SAMPLE_DTYPE = np.dtype(">f4")
"""One stored value."""

BYTES_PER_SAMPLE = len(CHANNELS) * SAMPLE_DTYPE.itemsize


def pack_samples(by_channel: npt.ArrayLike) -> bytes:
    """The ``samples`` value of a frame from its values as ``(10, n)`` (one row per channel)."""
    values = np.asarray(by_channel)
    if values.ndim != 2 or values.shape[0] != len(CHANNELS):
        raise ValueError(f"expected shape ({len(CHANNELS)}, n), got {values.shape}")
    return np.ascontiguousarray(values.T, dtype=SAMPLE_DTYPE).tobytes()


def pack_brake(brake: npt.ArrayLike) -> bytes:
    """The ``brake_mask`` value of a frame: one byte, 0 or 1, per sample."""
    return np.asarray(brake, dtype=np.bool_).astype(np.uint8).tobytes()
