"""The field validation kit on simulator-made walker recordings, on the real sets and on an
export from the database."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psycopg
import pytest
from psycopg.rows import TupleRow
from typer.testing import CliRunner

from stayactive.cli import app
from stayactive.errors import RejectedInput
from stayactive.tools.validation.field import parse_counts, validate_field
from stayactive.tools.validation.field_sim import write_simulated_field_set
from stayactive.tools.validation.recording_export import export_recording
from stayactive.tools.validation.recordings import load_recording
from tests.fixtures.real_gait import CC_BY, lower_back_agpl


def _field(args: list[str]) -> tuple[int, dict[str, object], str]:
    result = CliRunner().invoke(app, ["validate", "field", *args, "--json"])
    return result.exit_code, json.loads(result.output.strip().splitlines()[-1]), result.output


def test_simulated_walker_trials_agree_with_the_truth(tmp_path: Path) -> None:
    counts = write_simulated_field_set(tmp_path, seed=7)
    code, out, text = _field(["--recordings", str(tmp_path), "--counts", str(counts)])
    assert code == 0, text
    steps, dist = out["steps"], out["distance_m"]
    assert isinstance(steps, dict) and isinstance(dist, dict)
    assert steps["n"] == 9 and dist["n"] == 9
    # Measured: bias +0.11 steps, limits -0.54 to +0.76; distance bias -0.11 m (wheel
    # circumference error of the simulated walker), limits -0.26 to +0.03 m.
    assert abs(steps["bias"]) < 1.0 and steps["lower"] > -2.0 and steps["upper"] < 2.0
    assert abs(dist["bias"]) < 0.3 and dist["lower"] > -0.6 and dist["upper"] < 0.6
    lo, hi = steps["upper_ci"]
    assert lo < steps["upper"] < hi
    assert "limits of agreement" in text


def _counts_from_reference(folder: Path, out: Path) -> Path:
    """Two trials per recording (first and second half of its walk), counted from the
    reference steps: what a physiotherapist's tally would be."""
    rows = []
    for f in sorted(folder.glob("*.npz")):
        rec = load_recording(f)
        ref = rec.ref_ic_s
        assert ref is not None
        mid = float(np.median(ref))
        for k, (a, b) in enumerate(((float(ref[0]) - 0.5, mid), (mid, float(ref[-1]) + 0.5))):
            if rec.uturn_s is not None:
                b = min(b, rec.uturn_s[0]) if k == 0 else b
                a = max(a, rec.uturn_s[1]) if k == 1 else a
            n = int(np.count_nonzero((ref >= a) & (ref < b)))
            rows.append([f"{f.stem}-{k}", f.name, f"{a:.3f}", f"{b:.3f}", n, ""])
    with out.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["trial", "recording", "start_s", "end_s", "steps", "distance_m"])
        w.writerows(rows)
    return out


@pytest.mark.parametrize(
    ("folder", "n_trials", "max_bias_pct", "max_limit_pct"),
    [
        # Measured: bias +0.28 %, limits -2.0 % to +2.6 % over 24 halves of walks.
        pytest.param(lambda: CC_BY, 24, 2.0, 6.0, id="trunk-cc-by"),
        # Measured: bias -1.8 % [-2.6, -1.1], limits -12.9 % to +9.3 % over 228 walks of 10 m.
        pytest.param(lower_back_agpl, 228, 3.0, 15.0, id="lower-back-by-path",
                     marks=pytest.mark.slow),
    ],
)  # fmt: skip
def test_real_recordings_against_their_reference_counts(
    tmp_path: Path,
    folder: Callable[[], Path],
    n_trials: int,
    max_bias_pct: float,
    max_limit_pct: float,
) -> None:
    where = folder()
    counts = _counts_from_reference(where, tmp_path / "counts.csv")
    code, out, text = _field(["--recordings", str(where), "--counts", str(counts)])
    assert code == 0, text
    pct = out["steps_pct"]
    assert isinstance(pct, dict) and pct["n"] == n_trials
    assert abs(pct["bias"]) < max_bias_pct
    assert pct["lower"] > -max_limit_pct and pct["upper"] < max_limit_pct
    assert out["distance_m"] == {**out["distance_m"], "n": 0}  # no odometry in these sets


def test_rejected_trials_are_listed_and_the_rest_counted(tmp_path: Path) -> None:
    counts = tmp_path / "counts.csv"
    name = sorted(CC_BY.glob("*.npz"))[0].name
    counts.write_text(
        "trial,recording,start_s,end_s,steps,distance_m\n"
        f"a,{name},10,40,50,\nb,missing.npz,0,10,12,10\n"
    )
    code, out, text = _field(["--recordings", str(CC_BY), "--counts", str(counts)])
    assert code == 1
    assert out["rejected"] == ["b: recording_not_found: missing.npz"]
    assert "rejected b: recording_not_found" in text


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("trial,recording,start_s,end_s,steps\n", "counts_missing_column"),
        ("trial,recording,start_s,end_s,steps,distance_m\n", "counts_empty"),
        ("trial,recording,start_s,end_s,steps,distance_m\nx,r.npz,5,2,1,\n", "counts_bad_value"),
        ("trial,recording,start_s,end_s,steps,distance_m\nx,r.npz,0,2,many,\n", "counts_bad_value"),
        (
            "trial,recording,start,end,steps,distance_m\nx,r.npz,2026-05-04T13:00,2026-05-04T13:01,1,\n",
            "counts_bad_value",
        ),
    ],
)
def test_bad_counts_files_say_what_is_wrong(tmp_path: Path, body: str, reason: str) -> None:
    path = tmp_path / "counts.csv"
    path.write_text(body)
    with pytest.raises(RejectedInput) as info:
        parse_counts(path)
    assert info.value.reason == reason


def _store(conn: psycopg.Connection[TupleRow], rec_path: Path, device: str) -> None:
    """Write a recording into walker_frames as 1-s frames, as ingest would."""
    with np.load(rec_path) as z:
        t = z["t_s"]
        cols = [z["acc_m_s2"][:, j] for j in range(3)] + [z["gyro_rad_s"][:, j] for j in range(3)]
        cols += [z["odo_l_m"], z["odo_r_m"], z["force_l_n"], z["force_r_n"]]
        brake = z["brake"]
    rows = []
    for seq, a in enumerate(range(0, len(t), 50), start=1):
        b = min(a + 50, len(t))
        rows.append(
            (datetime.fromtimestamp(float(t[a]), UTC), device, "tenant-a", 0, seq, 0, 50.0,
             *[c[a:b].tolist() for c in cols], brake[a:b].astype(bool).tolist(), datetime.now(UTC))
        )  # fmt: skip
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO walker_frames (time, device_id, tenant_id, boot, seq, frame_no, rate_hz,"
            " acc_x, acc_y, acc_z, gyro_x, gyro_y, gyro_z, odo_l, odo_r, force_l, force_r,"
            " brake, received_at) VALUES (" + ", ".join(["%s"] * 19) + ")",
            rows,
        )


@pytest.mark.integration
def test_export_from_the_database_gives_the_same_figures(
    conn: psycopg.Connection[TupleRow], tmp_path: Path
) -> None:
    sim = tmp_path / "sim"
    counts = write_simulated_field_set(sim, seed=11, speeds_mps=(0.5,), bouts_per_day=2)
    original = sim / "sim-11-00.npz"
    _store(conn, original, "walker-0042")
    t = load_recording(original).t_s
    assert t is not None
    exported = tmp_path / "export"
    exported.mkdir()
    start = datetime.fromtimestamp(float(t[0]), UTC)
    end = datetime.fromtimestamp(float(t[-1]) + 1.0, UTC)
    n = export_recording(conn, "walker-0042", start, end, exported / "sim-11-00.npz")
    assert n == len(t)
    trials = parse_counts(counts)
    a = validate_field(sim, trials)
    b = validate_field(exported, trials)
    assert [r.steps for r in a.results] == [r.steps for r in b.results]
    assert np.allclose([r.distance_m for r in a.results], [r.distance_m for r in b.results],
                       atol=0.01)  # fmt: skip
    # The same trials noted as clock times (as a physiotherapist's watch gives them).
    t0 = float(t[0])
    oslo = datetime.fromtimestamp(t0).astimezone().tzinfo
    clock = tmp_path / "clock.csv"
    with clock.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["trial", "recording", "start", "end", "steps", "distance_m"])
        for tr in trials:
            when = [
                datetime.fromtimestamp(t0 + x, oslo).isoformat() for x in (tr.start_s, tr.end_s)
            ]
            w.writerow([tr.trial, tr.recording, *when, tr.steps, tr.distance_m])
    c = validate_field(exported, parse_counts(clock))
    assert [r.steps for r in c.results] == [r.steps for r in b.results]
    with pytest.raises(RejectedInput, match="no walker frames of walker-9999"):
        export_recording(conn, "walker-9999", start, end, tmp_path / "none.npz")
    with pytest.raises(RejectedInput, match="UTC offset"):
        export_recording(conn, "walker-0042", start.replace(tzinfo=None), end, tmp_path / "x.npz")
