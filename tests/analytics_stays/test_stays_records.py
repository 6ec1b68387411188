"""StayRecords validation and the length-of-stay convention (elapsed time from UTC instants)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from analytics.stays import StayRecords, age_band, concatenate, los_days, mobility_band
from tests.analytics_stays.stays_factories import make_records

OSLO = ZoneInfo("Europe/Oslo")


def test_los_spanning_dst_end_and_new_year_is_elapsed_time() -> None:
    admitted = datetime(2026, 10, 20, 10, 0, tzinfo=OSLO)  # CEST, UTC+2
    discharged = datetime(2027, 1, 5, 10, 0, tzinfo=OSLO)  # CET, UTC+1
    # 77 calendar days on the wall clock, but the clocks went back on 2026-10-25
    assert (discharged - admitted).days == 77  # Python's same-zone subtraction: wall clock
    assert los_days(admitted, discharged) == pytest.approx(77 + 1 / 24, abs=1e-12)


def test_los_spanning_dst_start() -> None:
    admitted = datetime(2027, 3, 27, 12, 0, tzinfo=OSLO)
    discharged = datetime(2027, 3, 29, 12, 0, tzinfo=OSLO)  # clocks forward on 2027-03-28
    assert los_days(admitted, discharged) == pytest.approx(47 / 24, abs=1e-12)


def test_los_is_the_same_whatever_zone_the_instants_are_given_in() -> None:
    admitted = datetime(2026, 12, 31, 23, 30, tzinfo=OSLO)
    discharged = datetime(2027, 1, 1, 0, 30, tzinfo=UTC)  # = 01:30 in Oslo
    assert los_days(admitted, discharged) == pytest.approx(2 / 24, abs=1e-12)


def test_los_rejects_naive_and_reversed_instants() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        los_days(datetime(2026, 1, 1), datetime(2026, 1, 2, tzinfo=UTC))
    with pytest.raises(ValueError, match="before"):
        los_days(datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))


def test_band_helpers() -> None:
    assert [age_band(a) for a in (67, 79.9, 80, 89, 90, 104)] == [
        "67-79",
        "67-79",
        "80-89",
        "80-89",
        "90+",
        "90+",
    ]
    with pytest.raises(ValueError, match="67 or over"):
        age_band(66)
    assert [mobility_band(v) for v in (None, math.nan, 0.0, 0.39, 0.4, 0.59, 0.6, 1.2)] == [
        "unknown",
        "unknown",
        "<0.4",
        "<0.4",
        "0.4-0.6",
        "0.4-0.6",
        ">=0.6",
        ">=0.6",
    ]
    with pytest.raises(ValueError):
        mobility_band(-0.1)


def test_records_normalise_input() -> None:
    r = make_records(
        [3.0, 4.5, 10.0],
        discharged=[True, True, False],
        destination=["home", "death", None],
        readmitted=[True, None, None],
        stay_type=["18", "19", "20"],
    )
    assert len(r) == 3
    assert r.destination.tolist() == ["home", "death", ""]
    assert r.readmitted_30d[0] == 1.0 and np.isnan(r.readmitted_30d[1:]).all()
    assert r.discharged.dtype == np.bool_
    with pytest.raises(ValueError):
        r.los_days[0] = 1.0  # arrays are read-only
    assert len(r.subset(r.discharged)) == 2
    assert len(concatenate([r, make_records([1.0], prefix="x")])) == 4


def test_stay_type_accepts_kpr_integers() -> None:
    r = StayRecords.from_columns(
        stay_id=["a"],
        los_days=[1.0],
        discharged=[True],
        destination=["home"],
        readmitted_30d=[None],
        arm=["comparison"],
        period=["before"],
        age_band=["90+"],
        stay_type=[18],
        mobility_band=["<0.4"],
    )
    assert r.stay_type.tolist() == ["18"]


def test_empty_records_are_allowed() -> None:
    r = make_records([])
    assert len(r) == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"los_days": [1.0, -1.0]}, "los_days must be finite and >= 0"),
        ({"los_days": [1.0, math.inf]}, "los_days must be finite"),
        ({"destination": ["home", "nursing_home"]}, "destination must be one of"),
        (
            {"discharged": [True, False], "destination": ["home", "home"]},
            "not discharged .censored., so destination must be None",
        ),
        ({"destination": ["home", None]}, "discharged, so destination must be one of"),
        (
            {"readmitted": [False, True], "destination": ["home", "hospital"]},
            "only to discharges home",
        ),
        ({"arm": ["intervention", "control"]}, "arm must be one of"),
        ({"period": ["after", "during"]}, "period must be one of"),
        ({"age_band": ["80-89", "50-66"]}, "age_band must be one of"),
        ({"stay_type": ["19", "21"]}, "stay_type must be one of"),
        ({"mobility_band": ["unknown", "fast"]}, "mobility_band must be one of"),
        ({"discharged": [True, "yes"]}, "discharged must be True or False"),
    ],
)
def test_records_reject_invalid_rows_naming_the_stay(
    change: dict[str, object], message: str
) -> None:
    kwargs: dict[str, object] = {"los_days": [1.0, 2.0]}
    kwargs.update(change)
    with pytest.raises(ValueError, match=message) as info:
        make_records(**kwargs)  # type: ignore[arg-type]
    assert "stay 's1'" in str(info.value)


def test_records_reject_structural_problems() -> None:
    base = make_records([1.0, 2.0])
    with pytest.raises(ValueError, match="unique"):
        StayRecords.from_columns(
            stay_id=["a", "a"],
            los_days=base.los_days,
            discharged=base.discharged,
            destination=base.destination,
            readmitted_30d=base.readmitted_30d,
            arm=base.arm,
            period=base.period,
            age_band=base.age_band,
            stay_type=base.stay_type,
            mobility_band=base.mobility_band,
        )
    with pytest.raises(ValueError, match="one value per stay"):
        StayRecords.from_columns(
            stay_id=["a", "b"],
            los_days=[1.0],
            discharged=base.discharged,
            destination=base.destination,
            readmitted_30d=base.readmitted_30d,
            arm=base.arm,
            period=base.period,
            age_band=base.age_band,
            stay_type=base.stay_type,
            mobility_band=base.mobility_band,
        )
    with pytest.raises(ValueError, match="unknown covariate"):
        base.covariate("ward")
