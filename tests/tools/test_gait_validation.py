"""``stayactive validate gait`` on real recordings: a regression snapshot on the CC BY set.

The CC BY 4.0 trunk set is committed under ``tests/fixtures/real_gait_cc_by`` (its
``LICENSE.md`` and ``README.md`` carry the attribution). The AGPL lower-back set is used by
path only, from ``shared/`` beside the repository (``STAYACTIVE_REAL_GAIT_DIR`` overrides).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from stayactive.cli import app
from stayactive.tools.validation import gait as gv
from stayactive.tools.validation.recordings import load_dir, load_recording, subject_of
from tests.fixtures.real_gait import CC_BY, lower_back_agpl


def test_regression_snapshot_on_the_cc_by_trunk_set() -> None:
    recordings, bad = load_dir(CC_BY)
    assert not bad and len(recordings) == 12
    g = gv.GroupFigures.of(gv.evaluate(recordings, gv.ours()))
    # The figures the issue asks to keep, and the exact counts so no change goes unseen.
    assert g.all.sensitivity >= 0.98 and g.all.ppv >= 0.98
    assert (g.all.n_reference, g.all.n_detected, g.all.true_positives) == (3296, 3310, 3274)
    assert g.all.count_rel_err < 0.01
    assert g.impaired.n_recordings == 0 and g.healthy.n_recordings == 12


def test_leave_one_subject_out_on_the_cc_by_set() -> None:
    recordings, _ = load_dir(CC_BY)
    loso = gv.leave_one_subject_out(recordings)
    assert set(loso.chosen) == {"oxford_Carmelo", "oxford_Dario", "oxford_Jamie"}
    assert len(loso.held_out) == 12
    assert loso.figures.all.sensitivity >= 0.98 and loso.figures.all.ppv >= 0.98


def test_mobgap_runs_side_by_side_on_the_same_recordings() -> None:
    recordings, _ = load_dir(CC_BY)
    g = gv.GroupFigures.of(gv.evaluate(recordings, gv.mobgap_ionescu()))
    # mobgap 1.2.0's IcdIonescu, measured: 3,280 of 3,296 found, 3,329 detections.
    assert g.all.n_reference == 3296
    assert g.all.sensitivity >= 0.98 and g.all.ppv >= 0.97


def test_cli_json_has_the_figures_the_issue_names() -> None:
    result = CliRunner().invoke(
        app, ["validate", "gait", "--data", str(CC_BY), "--compare", "mobgap", "--json"]
    )
    assert result.exit_code == 0, result.output
    last = json.loads(result.output.strip().splitlines()[-1])
    keys = {"sensitivity", "ppv", "cadence_rel_err"}
    assert keys <= set(last) and keys <= set(last["healthy"]) and keys <= set(last["impaired"])
    assert last["impaired"]["sensitivity"] is None  # no impaired recording in this set
    assert len(last["recordings"]) == 12 and keys <= set(last["mobgap"])
    assert "ours: healthy" in result.output and "mobgap: impaired" in result.output


def test_a_bad_file_is_listed_and_the_rest_scored(tmp_path: Path) -> None:
    good = sorted(CC_BY.glob("*.npz"))[0]
    (tmp_path / good.name).write_bytes(good.read_bytes())
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    np.savez(tmp_path / "no_acc.npz", fs_hz=100.0)
    result = CliRunner().invoke(app, ["validate", "gait", "--data", str(tmp_path)])
    assert result.exit_code == 1
    assert "skipped recording_unreadable: broken.npz" in result.output
    assert "skipped recording_missing_key: no_acc.npz: no acc_m_s2" in result.output
    assert good.stem in result.output
    missing = CliRunner().invoke(app, ["validate", "gait", "--data", str(tmp_path / "nope")])
    assert missing.exit_code != 0 and "is not a folder" in str(missing.exception)


def test_subjects_from_file_names() -> None:
    assert subject_of("oxford_NeckPouch_Pixel_Jamie_2") == "oxford_Jamie"
    assert subject_of("voisard_healthy_12-3") == "voisard_healthy_12"
    assert subject_of("voisard_multiple_sclerosis_M6_edss_7") == "voisard_multiple_sclerosis"
    assert subject_of("voisard_equino_varus_foot_M0_pre_chir") == "voisard_equino_varus_foot"
    assert subject_of("ward3_walk-12") == "ward3_walk"
    assert load_recording(sorted(CC_BY.glob("*.npz"))[0]).subject.startswith("oxford_")


@pytest.mark.slow
def test_issue_targets_on_the_lower_back_set_by_path() -> None:
    recordings, bad = load_dir(lower_back_agpl())
    assert not bad and len(recordings) == 114
    results = gv.evaluate(recordings, gv.ours())
    g = gv.GroupFigures.of(results)
    assert g.all.sensitivity >= 0.95 and g.all.ppv >= 0.95
    assert g.impaired.n_recordings == 4
    assert g.impaired.sensitivity >= 0.85 and g.impaired.ppv >= 0.85
    for r in results:
        if r.impaired:
            assert r.score.sensitivity >= 0.70 and r.score.ppv >= 0.70, r.name
    assert g.healthy.count_rel_err <= 0.05 and g.impaired.count_rel_err <= 0.10
