"""A message's rows laid out from the template are byte for byte the rows built frame by frame."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from ingest import copy_binary
from ingest.messages import Frame


def _frames(n_frames: int, n: int, rng: np.random.Generator) -> list[Frame]:
    t0 = datetime(2026, 11, 26, 9, 30, 0, 123000, tzinfo=UTC)
    return [
        Frame(t0 + timedelta(seconds=i), 50.0 + i, rng.normal(size=(10, n)), rng.random(n) < 0.3)
        for i in range(n_frames)
    ]


def test_template_rows_equal_the_frame_by_frame_rows() -> None:
    rng = np.random.default_rng(4)
    received = datetime(2026, 11, 26, 9, 31, 2, 5, tzinfo=UTC)
    for n_frames, n in ((5, 50), (1, 1), (3, 2000), (5, 50)):  # (5, 50) again: from the cache
        frames = _frames(n_frames, n, rng)
        by_frame = b"".join(
            copy_binary.frame_row(f, "W-0001", "tenant-æ", 2**40, 17, no, received)
            for no, f in enumerate(frames)
        )
        assert copy_binary.message_rows(frames, "W-0001", "tenant-æ", 2**40, 17, received) == (
            by_frame
        )


def test_frames_of_different_lengths_are_laid_out_one_by_one() -> None:
    rng = np.random.default_rng(5)
    frames = _frames(1, 50, rng) + _frames(1, 20, rng)
    received = datetime(2026, 11, 26, 9, 31, tzinfo=UTC)
    rows = copy_binary.message_rows(frames, "W-1", "t", 0, 1, received)
    assert rows == b"".join(
        copy_binary.frame_row(f, "W-1", "t", 0, 1, no, received) for no, f in enumerate(frames)
    )
