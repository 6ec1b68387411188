"""Event matching, recording scores and Bland-Altman limits: known answers and edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from analytics.agreement import bland_altman, cadence_spm, match_events, pool, score_events


def test_matching_is_one_to_one_and_closest_first() -> None:
    # 1.00 is closest to 1.05 (not 0.9); 1.1 then has nothing left within 0.2 but 1.05, taken.
    d, r = match_events([0.9, 1.05, 1.1, 5.0], [1.0, 1.2], tolerance_s=0.2)
    assert d.tolist() == [1, 2] and r.tolist() == [0, 1]


def test_matching_tolerance_is_inclusive_and_empty_inputs() -> None:
    d, r = match_events([1.25], [1.0], tolerance_s=0.25)
    assert d.tolist() == [0] and r.tolist() == [0]
    d, _ = match_events([1.2501], [1.0], tolerance_s=0.25)
    assert len(d) == 0
    assert len(match_events([], [1.0], tolerance_s=0.25)[0]) == 0
    assert len(match_events([1.0], [], tolerance_s=0.25)[0]) == 0


def test_matching_unsorted_input_returns_indices_into_the_input() -> None:
    d, r = match_events([3.0, 1.0, 2.0], [2.05, 0.98], tolerance_s=0.1)
    assert sorted(zip(r.tolist(), d.tolist(), strict=True)) == [(0, 2), (1, 1)]


def test_score_of_a_recording_with_excluded_and_scored_regions() -> None:
    ref = np.arange(0.0, 20.0, 0.5)  # 40 steps, cadence 120
    det = np.concatenate((ref[:30] + 0.05, [10.2, 10.3, 30.0]))  # 10 missed, 3 extra
    s = score_events(det, ref, tolerance_s=0.25)
    assert (s.n_reference, s.n_detected, s.true_positives) == (40, 33, 30)
    assert s.sensitivity == 0.75 and math.isclose(s.ppv, 30 / 33)
    assert math.isclose(s.count_rel_err, -7 / 40)
    assert math.isclose(s.timing_offset_s, 0.05)
    assert math.isclose(s.cadence_reference_spm, 120.0)
    # The extra detection at 30 s falls outside the scored span, 10-11 s is excluded.
    s2 = score_events(det, ref, tolerance_s=0.25, scored=[(-1.0, 21.0)], excluded=[(10.0, 11.0)])
    assert s2.n_detected == 33 - 5  # 10.05, 10.2, 10.3, 10.55 excluded; 30 outside
    assert s2.n_reference == 40 - 3  # 10.0, 10.5 and 11.0 excluded (limits included)


def test_pool_sums_counts_and_averages_absolute_errors() -> None:
    a = score_events([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0, 5.0], tolerance_s=0.1)
    b = score_events([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1.0, 2.0, 3.0, 4.0, 5.0], tolerance_s=0.1)
    p = pool([a, b])
    assert p.n_recordings == 2 and p.true_positives == 9
    assert math.isclose(p.sensitivity, 0.9) and math.isclose(p.ppv, 0.9)
    assert math.isclose(p.count_rel_err, 0.2)  # mean of |-0.2| and |+0.2|
    assert p.count_bias == 0.0  # the two cancel in the sum, not in the mean above
    empty = pool([])
    assert empty.n_recordings == 0 and math.isnan(empty.sensitivity)
    assert empty.as_json()["sensitivity"] is None


def test_cadence_ignores_pauses() -> None:
    assert cadence_spm([0.0, 1.0, 2.0, 10.0, 11.0]) == 60.0
    assert math.isnan(cadence_spm([0.0]))


def test_bland_altman_known_answer() -> None:
    ref = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    meas = ref + np.array([1.0, -1.0, 2.0, 0.0, 3.0])
    ba = bland_altman(meas, ref)
    d = meas - ref
    sd = float(np.std(d, ddof=1))
    assert ba.n == 5 and math.isclose(ba.bias, 1.0) and math.isclose(ba.sd, sd)
    z = stats.norm.ppf(0.975)
    assert math.isclose(ba.lower, 1.0 - z * sd) and math.isclose(ba.upper, 1.0 + z * sd)
    t = stats.t.ppf(0.975, 4)
    assert math.isclose(ba.bias_ci[1] - ba.bias, t * sd / math.sqrt(5))
    se = sd * math.sqrt(1 / 5 + z * z / 8)
    assert math.isclose(ba.upper_ci[0], ba.upper - t * se)
    assert ba.lower_ci[0] < ba.lower < ba.lower_ci[1]


def test_bland_altman_relative_and_degenerate() -> None:
    rel = bland_altman([11.0, 22.0], [10.0, 20.0], relative=True)
    assert math.isclose(rel.bias, 10.0) and math.isclose(rel.sd, 0.0, abs_tol=1e-12)
    one = bland_altman([1.0], [2.0])
    assert one.n == 1 and one.bias == -1.0 and math.isnan(one.sd)
    assert one.as_json()["sd"] is None
    none = bland_altman([np.nan], [1.0])
    assert none.n == 0 and math.isnan(none.bias)
    with pytest.raises(ValueError, match="2 measured values against 1"):
        bland_altman([1.0, 2.0], [1.0])
