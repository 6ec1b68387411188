"""Kaplan-Meier, median, RMST and Aalen-Johansen against textbook loops and hand calculations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analytics.stays import (
    InsufficientData,
    cumulative_incidence,
    kaplan_meier,
    median_los,
    restricted_mean_los,
)
from analytics.stays._km import ends_open, follow_up_reach, km_layout, weighted_rmst

# --- independent reference: the textbook formulas, written as plain loops -----------------


def naive_km(t: list[float], d: list[bool]) -> list[tuple[float, float]]:
    """(event time, S after it) by the product-limit formula."""
    s = 1.0
    out = []
    for u in sorted({x for x, e in zip(t, d, strict=True) if e}):
        at_risk = sum(1 for x in t if x >= u)
        events = sum(1 for x, e in zip(t, d, strict=True) if e and x == u)
        s *= 1.0 - events / at_risk
        out.append((u, s))
    return out


def naive_rmst(t: list[float], d: list[bool], tau: float) -> float:
    """Area under the step function to tau (held flat after the last event)."""
    area, prev_t, prev_s = 0.0, 0.0, 1.0
    for u, s in naive_km(t, d):
        if u >= tau:
            break
        area += prev_s * (u - prev_t)
        prev_t, prev_s = u, s
    return area + prev_s * (tau - prev_t)


def naive_cif(t: list[float], dest: list[str], cause: str) -> list[tuple[float, float]]:
    """Aalen-Johansen: CIF_k(t) = sum S(u-) d_k(u) / n(u)."""
    s_before, cif, out = 1.0, 0.0, []
    for u in sorted({x for x, k in zip(t, dest, strict=True) if k}):
        n = sum(1 for x in t if x >= u)
        d_all = sum(1 for x, k in zip(t, dest, strict=True) if k and x == u)
        d_k = sum(1 for x, k in zip(t, dest, strict=True) if k == cause and x == u)
        cif += s_before * d_k / n
        s_before *= 1.0 - d_all / n
        out.append((u, cif))
    return out


def random_sample(seed: int, n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    # rounded to whole days so that events tie with each other and with censorings
    t = np.round(rng.exponential(15.0, n))
    d = rng.random(n) < 0.7
    return t, d


# --- cross-checks on random censored data -----------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_kaplan_meier_matches_textbook_loop(seed: int) -> None:
    t, d = random_sample(seed)
    km = kaplan_meier(t, d)
    for u, s in naive_km(t.tolist(), d.tolist()):
        assert km.evaluate(u) == pytest.approx(s, abs=1e-12)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("tau", [5.0, 20.0, 60.0])
def test_rmst_matches_textbook_loop(seed: int, tau: float) -> None:
    t, d = random_sample(seed)
    expected = naive_rmst(t.tolist(), d.tolist(), tau)
    assert restricted_mean_los(t, d, horizon_days=tau, beyond_follow_up="extend") == pytest.approx(
        expected, abs=1e-12
    )
    # the vectorised bootstrap kernel gives the same with unit weights
    kernel = weighted_rmst(km_layout(t, d, tau), np.ones((1, t.size)))
    assert kernel[0] == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("seed", range(8))
def test_cumulative_incidence_matches_textbook_loop(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    t, d = random_sample(seed)
    causes = rng.choice(["home", "long_term_care", "hospital", "death"], t.size)
    dest = [str(c) if e else "" for c, e in zip(causes, d, strict=True)]
    ci = cumulative_incidence(t, dest)
    for cause in ci.destinations:
        for u, value in naive_cif(t.tolist(), dest, cause):
            assert ci.evaluate(u)[cause] == pytest.approx(value, abs=1e-12)
    # the destinations and "still in stay" add up to one everywhere
    np.testing.assert_allclose(ci.cif.sum(axis=0) + ci.survival, 1.0, atol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_case_weights_equal_duplicated_stays(seed: int) -> None:
    # A bootstrap resample is the sample with integer case weights.
    t, d = random_sample(seed, n=30)
    w = np.random.default_rng(seed).integers(0, 4, t.size)
    w[0] = max(w[0], 1)
    got = weighted_rmst(km_layout(t, d, 30.0), w[np.newaxis, :].astype(float))[0]
    expected = restricted_mean_los(
        np.repeat(t, w), np.repeat(d, w), horizon_days=30.0, beyond_follow_up="extend"
    )
    assert got == pytest.approx(expected, abs=1e-12)


# --- known answers ----------------------------------------------------------------------

# The eight observations that illustrate the product-limit estimator in Kaplan & Meier (1958):
# discharges at 0.8, 3.1, 5.4, 9.2 and censorings at 1.0, 2.7, 7.0, 12.1.
KM_T = [0.8, 1.0, 2.7, 3.1, 5.4, 7.0, 9.2, 12.1]
KM_D = [True, False, False, True, True, False, True, False]


def test_kaplan_meier_1958_example() -> None:
    km = kaplan_meier(KM_T, KM_D)
    # by hand: 7/8; x 4/5 (5 at risk at 3.1); x 3/4; x 1/2 (2 at risk at 9.2)
    assert km.evaluate([0.8, 3.1, 5.4, 9.2, 12.1]) == pytest.approx(
        [0.875, 0.7, 0.525, 0.2625, 0.2625], abs=1e-15
    )
    assert km.evaluate(0.5) == 1.0
    assert km.n_at_risk.tolist() == [8, 7, 6, 5, 4, 3, 2, 1]
    assert km.n_discharged.tolist() == [1, 0, 0, 1, 1, 0, 1, 0]


def test_rmst_1958_example_by_hand() -> None:
    # 0.8*1 + 2.3*0.875 + 2.3*0.7 + 3.8*0.525 + 0.8*0.2625
    assert restricted_mean_los(KM_T, KM_D, horizon_days=10.0) == pytest.approx(6.6275, abs=1e-12)


def test_median_and_its_interval() -> None:
    median = median_los(kaplan_meier(KM_T, KM_D))
    assert median.value == 9.2  # first time S <= 0.5
    assert median.low <= median.value
    assert math.isinf(median.high)  # the upper band never reaches 0.5 with 8 stays
    assert median.unit == "days"


def test_median_of_six_stays_without_censoring() -> None:
    # S: 5/6, 4/6, 3/6 ... -> the median is the third stay's length
    km = kaplan_meier([2, 4, 6, 8, 10, 12], [True] * 6)
    assert median_los(km).value == 6


def test_median_not_reached() -> None:
    km = kaplan_meier([5, 6, 7, 8], [True, False, False, False])
    assert math.isinf(median_los(km).value)


def test_rmst_without_censoring_is_mean_of_truncated_los() -> None:
    los = [3.0, 10.0, 45.0, 70.0, 100.0]
    expected = np.mean(np.minimum(los, 60.0))
    assert restricted_mean_los(los, [True] * 5, horizon_days=60) == pytest.approx(expected)


def test_rmst_refuses_horizon_beyond_follow_up() -> None:
    with pytest.raises(InsufficientData, match="still going on"):
        restricted_mean_los([5.0, 10.0, 20.0], [True, True, False], horizon_days=60)
    extended = restricted_mean_los(
        [5.0, 10.0, 20.0], [True, True, False], horizon_days=60, beyond_follow_up="extend"
    )
    assert extended == pytest.approx(5 + 5 * 2 / 3 + 50 * 1 / 3)
    # a curve that reached 0 is defined beyond the last stay
    assert restricted_mean_los([5.0, 10.0], [True, True], horizon_days=60) == pytest.approx(7.5)


def test_open_curve_detection() -> None:
    t, d = np.array([5.0, 10.0, 20.0]), np.array([True, True, False])
    ones = np.ones((1, 3))
    assert ends_open(km_layout(t, d, 60.0), ones)[0]
    assert not ends_open(km_layout(t, d, 15.0), ones)[0]
    assert not ends_open(km_layout(t, np.ones(3, bool), 60.0), ones)[0]
    # a resample without the censored stay ends on a discharge: not open
    assert not ends_open(km_layout(t, d, 60.0), np.array([[1.0, 2.0, 0.0]]))[0]


def test_follow_up_reach_needs_stays_beyond_each_censoring() -> None:
    # 30 ongoing stays under 21 days, none discharged: known only up to the 21st shortest
    los = np.linspace(1.0, 20.0, 30)
    reach = follow_up_reach(los, np.zeros(30, bool))
    assert reach == pytest.approx(los[20])
    # complete curves and censorings with enough stays beyond are known everywhere
    assert follow_up_reach(los, np.ones(30, bool)) == np.inf
    long = np.concatenate([[5.0], np.full(10, 50.0)])
    assert follow_up_reach(long, np.array([False] + [True] * 10)) == np.inf


def test_competing_destinations_six_stays_by_hand() -> None:
    # t: 2 home, 3 censored, 4 long-term care, 5 home, 6 death, 8 censored
    t = [2, 3, 4, 5, 6, 8]
    dest = ["home", None, "long_term_care", "home", "death", None]
    ci = cumulative_incidence(t, dest)
    # at 2: n=6, home 1/6, S=5/6.  at 4: n=4, ltc = 5/6*1/4 = 5/24, S=5/8.
    # at 5: n=3, home += 5/8*1/3 = 5/24, S=5/12.  at 6: n=2, death = 5/12*1/2 = 5/24, S=5/24.
    at8 = ci.evaluate(8)
    assert at8["home"] == pytest.approx(1 / 6 + 5 / 24)
    assert at8["long_term_care"] == pytest.approx(5 / 24)
    assert at8["death"] == pytest.approx(5 / 24)
    assert at8["hospital"] == 0.0
    assert ci.survival[-1] == pytest.approx(5 / 24)
    assert ci.evaluate(1) == dict.fromkeys(ci.destinations, 0.0)
    # 1 - KM with the other destinations censored overstates discharge home: 1 - 5/6*2/3
    km_home = kaplan_meier(t, [d == "home" for d in dest])
    assert 1 - km_home.evaluate(8) == pytest.approx(4 / 9)
    assert at8["home"] < 4 / 9


def test_empty_and_invalid_input() -> None:
    with pytest.raises(InsufficientData):
        kaplan_meier([], [])
    with pytest.raises(InsufficientData):
        restricted_mean_los([], [])
    with pytest.raises(InsufficientData):
        cumulative_incidence([], [])
    with pytest.raises(ValueError, match="finite"):
        kaplan_meier([1.0, -2.0], [True, True])
    with pytest.raises(ValueError, match="horizon_days"):
        restricted_mean_los([1.0], [True], horizon_days=0)
    with pytest.raises(ValueError, match="not one of"):
        cumulative_incidence([1.0], ["nursing_home"])


def test_single_stay() -> None:
    km = kaplan_meier([4.0], [True])
    assert km.survival.tolist() == [0.0]
    assert median_los(km).value == 4.0
    assert restricted_mean_los([4.0], [True], horizon_days=60) == 4.0


def test_all_censored() -> None:
    km = kaplan_meier([3.0, 5.0], [False, False])
    assert km.survival.tolist() == [1.0, 1.0]
    assert restricted_mean_los([3.0, 5.0], [False, False], horizon_days=4) == 4.0
