"""Loading stays from the database into StayRecords: consent, arms, exposure, readmission."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import psycopg
import pytest
from psycopg.rows import TupleRow

from analytics.stays.store import EXCLUSION_REASONS, load_stays
from stayactive import registry
from stayactive.errors import ConfigurationError
from stayactive.registry import NewDevice

OSLO = ZoneInfo("Europe/Oslo")
T = "stavanger"


def local(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=OSLO)


class Tenant:
    """Builds registry rows for one test tenant."""

    def __init__(self, conn: psycopg.Connection[TupleRow]) -> None:
        self.conn = conn
        registry.ensure_tenant(conn, T, "Stavanger kommune")
        self.ward_a = registry.ensure_ward(conn, T, "site-1", "ward-a", date(2026, 3, 2)).ward_id
        self.ward_c = registry.ensure_ward(conn, T, "site-1", "ward-c", None).ward_id
        self._n = 0

    def stay(
        self,
        ward: int,
        admitted: datetime,
        discharged: datetime | None = None,
        destination: str | None = None,
        *,
        resident: str | None = None,
        birth_year: int | None = 1940,
        consent: bool = True,
        stay_type: int = 18,
    ) -> tuple[int, int]:
        self._n += 1
        pseudonym = resident or f"R-{self._n:04d}"
        resident_id = registry.ensure_resident(self.conn, T, pseudonym, birth_year)
        row = self.conn.execute(
            """INSERT INTO stays (tenant_id, resident_id, ward_id, admitted_at, discharged_at,
                                  stay_type, discharge_destination, external_ref)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING stay_id""",
            (T, resident_id, ward, admitted, discharged, stay_type, destination, f"S-{self._n}"),
        ).fetchone()
        assert row is not None
        if consent:
            self.conn.execute(
                """INSERT INTO consents (tenant_id, resident_id, purpose, valid)
                   VALUES (%s, %s, 'evaluation', tstzrange(%s, %s))
                   ON CONFLICT DO NOTHING""",
                (T, resident_id, admitted, discharged),
            )
        return int(row[0]), resident_id

    def device(
        self, device_id: str, resident_id: int, start: datetime, end: datetime | None
    ) -> None:
        registry.upsert_devices(self.conn, T, [NewDevice(device_id, "walker", "SN-" + device_id)])
        registry.assign_device(self.conn, T, device_id, resident_id, start, end)


def frame(conn: psycopg.Connection[TupleRow], device_id: str, at: datetime) -> None:
    one = [0.0]
    conn.execute(
        """INSERT INTO walker_frames (time, device_id, tenant_id, boot, seq, frame_no, rate_hz,
               acc_x, acc_y, acc_z, gyro_x, gyro_y, gyro_z, odo_l, odo_r, force_l, force_r,
               brake, received_at, stored_at)
           VALUES (%s, %s, %s, 1, 1, 0, 50, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                   %s)""",
        (at, device_id, T, *([one] * 10), [False], at, at),
    )


ANALYSIS = local(2026, 6, 1)


@pytest.fixture
def tenant(conn: psycopg.Connection[TupleRow]) -> Tenant:
    return Tenant(conn)


def test_groups_exclusions_and_readmission(tenant: Tenant) -> None:
    t = tenant
    # Before go-live on the device ward, home, then a new stay 16 days later: readmitted.
    t.stay(t.ward_a, local(2026, 1, 10, 12), local(2026, 1, 20, 11), "home", resident="R-one")
    t.stay(
        t.ward_c, local(2026, 2, 5, 12), local(2026, 2, 15, 11), "long_term_care", resident="R-one"
    )
    # Admitted 00:30 local on the go-live day (still 1 March in UTC): after go-live. Walker
    # after 2 h; a hospital admission 39 days after discharge is not a readmission.
    adm = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    _, r2 = t.stay(t.ward_a, adm, local(2026, 3, 12, 11), "home")
    t.device("walker-a-01", r2, adm + timedelta(hours=2), local(2026, 3, 12, 11))
    stay_r2 = t.conn.execute("SELECT stay_id FROM stays WHERE resident_id = %s", (r2,)).fetchone()
    assert stay_r2 is not None
    t.conn.execute(
        """INSERT INTO hospital_admissions (tenant_id, resident_id, admitted_at,
                                            reported_with_stay_id)
           VALUES (%s, %s, %s, %s)""",
        (T, r2, local(2026, 4, 20, 8), stay_r2[0]),
    )
    # Device only after 4 days: not exposed.
    _, r3 = t.stay(t.ward_a, local(2026, 3, 5, 12), local(2026, 3, 25, 11), "home")
    t.device("walker-a-02", r3, local(2026, 3, 9, 12), local(2026, 3, 25, 11))
    t.stay(t.ward_a, local(2026, 3, 6, 12), local(2026, 3, 16, 11), "home", consent=False)
    t.stay(t.ward_c, local(2026, 3, 7, 12), local(2026, 3, 17, 11), "home", birth_year=1962)
    t.stay(t.ward_c, local(2026, 3, 8, 12), local(2026, 3, 18, 11), "home", birth_year=None)
    # Still in the stay at the analysis instant: censored there.
    t.stay(t.ward_c, local(2026, 3, 10, 12), stay_type=19)
    # A comparison-ward stay with a device is contaminated.
    _, r8 = t.stay(t.ward_c, local(2026, 3, 11, 12), local(2026, 3, 21, 11), "death")
    t.device("walker-a-03", r8, local(2026, 3, 12, 12), local(2026, 3, 21, 11))
    # Discharged home 12 days before the analysis: the 30-day window is not complete.
    _, r9 = t.stay(t.ward_a, local(2026, 3, 15, 12), local(2026, 5, 20, 11), "home")
    t.device("walker-a-04", r9, local(2026, 3, 15, 14), local(2026, 5, 20, 11))
    t.stay(t.ward_c, local(2026, 3, 16, 12), local(2026, 3, 26, 11), "other")
    # Discharged after the analysis instant: seen as still in the stay.
    _, r11 = t.stay(t.ward_a, local(2026, 5, 1, 12), local(2026, 7, 1, 11), "home")
    t.device("walker-a-05", r11, local(2026, 5, 1, 13), local(2026, 7, 1, 11))

    loaded = load_stays(t.conn, T, analysis_at=ANALYSIS)
    assert loaded.n_stays == 12
    assert list(loaded.excluded) == list(EXCLUSION_REASONS)
    assert loaded.excluded == {
        "no consent to evaluation": 1,
        "birth year unknown": 1,
        "under 67 at admission": 1,
        "discharge destination 'other'": 1,
        "device ward after go-live: no device in the first 72 hours": 1,
        "comparison stay with a device": 1,
    }
    r = loaded.records
    assert len(r) == 6
    groups = [f"{a}/{p}" for a, p in zip(r.arm, r.period, strict=True)]
    assert groups == [
        "intervention/before",
        "comparison/before",
        "intervention/after",
        "comparison/after",
        "intervention/after",
        "intervention/after",
    ]
    assert loaded.first_go_live == date(2026, 3, 2)
    assert not loaded.walker_data_required
    np.testing.assert_array_equal(r.readmitted_30d[:3], [1.0, np.nan, 0.0])
    assert math.isnan(r.readmitted_30d[4])  # window not complete
    assert not r.discharged[3] and r.destination[3] == ""
    # Elapsed time: the clocks went forward on 29 March, so one hour less than by wall clock.
    assert r.los_days[3] == pytest.approx(82.5 - 1 / 24)
    assert not r.discharged[5]  # discharged after the analysis instant
    assert r.stay_type[3] == "19"
    assert set(r.age_band) == {"80-89"}  # 2026 - 1940 = 86
    assert set(r.mobility_band) == {"unknown"}
    assert loaded.wards_per_group == {
        "comparison/after": 1,
        "comparison/before": 1,
        "intervention/after": 1,
        "intervention/before": 1,
    }


def test_walker_data_is_required_once_the_tenant_has_telemetry(tenant: Tenant) -> None:
    t = tenant
    adm = local(2026, 3, 10, 12)
    _, r1 = t.stay(t.ward_a, adm, local(2026, 3, 20, 11), "home")
    t.device("walker-a-01", r1, adm + timedelta(hours=2), local(2026, 3, 20, 11))
    t.stay(t.ward_a, local(2026, 1, 10, 12), local(2026, 1, 20, 11), "home")
    assert len(load_stays(t.conn, T, analysis_at=ANALYSIS).records) == 2
    # Telemetry from another walker: now a walker must show data in the first 72 hours.
    registry.upsert_devices(t.conn, T, [NewDevice("walker-a-09", "walker", "SN-9")])
    frame(t.conn, "walker-a-09", adm)
    loaded = load_stays(t.conn, T, analysis_at=ANALYSIS)
    assert loaded.walker_data_required
    assert loaded.excluded["device ward after go-live: no device in the first 72 hours"] == 1
    frame(t.conn, "walker-a-01", adm + timedelta(hours=60))
    assert len(load_stays(t.conn, T, analysis_at=ANALYSIS).records) == 2


def test_admission_mobility_and_a_stay_over_dst_and_new_year(tenant: Tenant) -> None:
    t = tenant
    stay_id, _ = t.stay(t.ward_c, local(2026, 10, 20, 10), local(2027, 1, 5, 10), "home")
    t.conn.execute(
        "INSERT INTO stay_admission_mobility (stay_id, tenant_id, gait_speed_mps) "
        "VALUES (%s, %s, 0.45)",
        (stay_id, T),
    )
    loaded = load_stays(t.conn, T, analysis_at=local(2027, 3, 1))
    r = loaded.records
    # 77 calendar days, plus the hour the clocks went back on 25 October.
    assert r.los_days[0] == pytest.approx(77 + 1 / 24)
    assert r.mobility_band[0] == "0.4-0.6"
    assert r.age_band[0] == "80-89"
    assert r.period[0] == "after" and r.arm[0] == "comparison"
    assert r.readmitted_30d[0] == 0.0


def test_empty_tenant_and_unknown_tenant(tenant: Tenant) -> None:
    loaded = load_stays(tenant.conn, T, analysis_at=ANALYSIS)
    assert loaded.n_stays == 0 and len(loaded.records) == 0
    with pytest.raises(ConfigurationError, match="unknown tenant"):
        load_stays(tenant.conn, "nowhere")
    with pytest.raises(ConfigurationError, match="timezone-aware"):
        load_stays(tenant.conn, T, analysis_at=datetime(2026, 1, 1))
