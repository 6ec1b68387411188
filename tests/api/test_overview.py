"""The ward overview and its alerts: conditions, urgency, handling, resolution, formatting."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from stayactive import registry
from stayactive.api.models.overview import URGENCY
from tests.api.conftest import World


def _setup_conditions(world: World) -> dict[str, int]:
    """Give residents of ward 1 one condition each (and one of ward 2 no data)."""
    a = world.a
    w1, w2 = a.ward_ids
    r_not_up, r_battery, r_offline = a.residents_by_ward[w1]
    r_no_data = a.residents_by_ward[w2][0]
    device = dict(zip(a.resident_ids, a.device_ids, strict=True))
    now = datetime.now(UTC)
    with world.connect() as conn:
        # The tenant's today, as the overview counts it (not the machine's UTC date).
        today = now.astimezone(registry.tenant_time_zone(conn, a.tenant_id)).date()
        conn.execute(
            "INSERT INTO ward_alert_settings (ward_id, tenant_id, not_up_by) "
            "VALUES (%s, %s, '00:00')",
            (w1, a.tenant_id),
        )
        # Not up: its walker reports, but no frame and no step today.
        conn.execute(
            "DELETE FROM walker_frames WHERE device_id = %s AND time >= %s",
            (device[r_not_up], now - timedelta(days=1)),
        )
        conn.execute(
            "DELETE FROM resident_days WHERE resident_id = %s AND day = %s", (r_not_up, today)
        )
        # The others walked a minute ago.
        for r in (r_battery, r_offline):
            conn.execute(
                """INSERT INTO walker_frames (time, device_id, tenant_id, boot, seq, frame_no,
                       rate_hz, acc_x, acc_y, acc_z, gyro_x, gyro_y, gyro_z, odo_l, odo_r, force_l,
                       force_r, brake, received_at)
                   VALUES (%s, %s, %s, 9, 9, 0, 50, '{0}', '{0}', '{9.8}', '{0}', '{0}', '{0}',
                           '{0}', '{0}', '{0}', '{0}', '{f}', %s)""",
                (now - timedelta(minutes=1), device[r], a.tenant_id, now),
            )
        conn.execute(
            "UPDATE device_latest_status SET battery_pct = 5, charging = false "
            "WHERE device_id = %s",
            (device[r_battery],),
        )
        conn.execute(
            "UPDATE device_latest_status SET state = 'offline', last_seen_at = %s "
            "WHERE device_id = %s",
            (now - timedelta(hours=2), device[r_offline]),
        )
        conn.execute(
            "UPDATE stay_trajectories SET declining_3d = (stay_id IN "
            "(SELECT stay_id FROM stays WHERE resident_id = %s))",
            (r_battery,),
        )
        # No data: nothing yesterday or today, nothing from its walker for two days.
        conn.execute(
            "DELETE FROM resident_days WHERE resident_id = %s AND day >= %s",
            (r_no_data, today - timedelta(days=1)),
        )
        conn.execute(
            "DELETE FROM walker_frames WHERE device_id = %s AND time >= %s",
            (device[r_no_data], now - timedelta(days=2)),
        )
        conn.execute(
            "UPDATE device_latest_status SET last_seen_at = %s WHERE device_id = %s",
            (now - timedelta(days=2), device[r_no_data]),
        )
    return {"not_up": r_not_up, "battery": r_battery, "offline": r_offline, "no_data": r_no_data}


def _alerts(body: dict, resident_id: int) -> dict[str, dict]:  # type: ignore[type-arg]
    row = next(r for r in body["residents"] if r["resident_id"] == resident_id)
    return {a["kind"]: a for a in row["alerts"]}


def test_alerts_are_raised_ranked_handled_and_resolved(api_world: World) -> None:
    who = _setup_conditions(api_world)
    care = api_world.client("tenant-a-care")
    ward = api_world.a.ward_ids[0]
    body = care.get(f"/wards/{ward}/overview").json()
    assert body["not_up_by"] == "00:00"
    assert set(_alerts(body, who["not_up"])) == {"not_up_by_hour"}
    assert set(_alerts(body, who["battery"])) == {"battery_low", "declining_3_days"}
    assert set(_alerts(body, who["offline"])) == {"device_offline"}
    # Most urgent first: the resident who is not up leads the list.
    assert body["residents"][0]["resident_id"] == who["not_up"]
    assert URGENCY["not_up_by_hour"] < URGENCY["declining_3_days"] < URGENCY["battery_low"]
    battery = _alerts(body, who["battery"])["battery_low"]
    assert battery["message"].startswith("Lavt batteri") and battery["handled"] is None
    admin = api_world.client("tenant-a-admin")
    other = admin.get(f"/wards/{api_world.a.ward_ids[1]}/overview").json()
    no_data = _alerts(other, who["no_data"])
    # Its silent walker is offline too; "not up" is not claimed without a monitoring device.
    assert set(no_data) == {"no_data", "device_offline"}
    assert no_data["no_data"]["message"].startswith("Ingen data")
    # The same overview read twice keeps the same alert rows.
    again = care.get(f"/wards/{ward}/overview").json()
    assert _alerts(again, who["battery"])["battery_low"]["alert_id"] == battery["alert_id"]
    # Handled: who, when, note; it stays open while the battery is low.
    handled = care.post(f"/alerts/{battery['alert_id']}/handled", json={"note": "Satt på lading"})
    assert handled.status_code == 200
    h = handled.json()["handled"]
    assert h["by"] == "tenant-a-care" and h["note"] == "Satt på lading"
    shown = _alerts(care.get(f"/wards/{ward}/overview").json(), who["battery"])["battery_low"]
    assert shown["handled"]["note"] == "Satt på lading"
    # The condition clears: the alert is resolved and no longer shown.
    with api_world.connect() as conn:
        conn.execute("UPDATE device_latest_status SET battery_pct = 80 WHERE battery_pct = 5")
    cleared = care.get(f"/wards/{ward}/overview").json()
    assert "battery_low" not in _alerts(cleared, who["battery"])
    with api_world.connect() as conn:
        row = conn.execute(
            "SELECT resolved_at IS NOT NULL, handled_by FROM alerts WHERE alert_id = %s",
            (battery["alert_id"],),
        ).fetchone()
    assert row == (True, "tenant-a-care")
    # Another ward's alert cannot be handled by this care-staff user.
    no_data_id = no_data["no_data"]["alert_id"]
    assert care.post(f"/alerts/{no_data_id}/handled", json={"note": ""}).status_code == 403


def test_a_walker_still_uploading_a_backlog_is_not_read_as_a_resident_not_up(
    api_world: World,
) -> None:
    who = _setup_conditions(api_world)
    care = api_world.client("tenant-a-care")
    ward = api_world.a.ward_ids[0]
    device = dict(zip(api_world.a.resident_ids, api_world.a.device_ids, strict=True))

    def alerts_of_not_up(status_at: datetime, buffered_n: int) -> dict[str, dict]:  # type: ignore[type-arg]
        with api_world.connect() as conn:
            conn.execute(
                "UPDATE device_latest_status SET status_time = %s, buffered_n = %s, "
                "last_seen_at = now() WHERE device_id = %s",
                (status_at, buffered_n, device[who["not_up"]]),
            )
        return _alerts(care.get(f"/wards/{ward}/overview").json(), who["not_up"])

    now = datetime.now(UTC)
    # Heard from a minute ago, but what arrives is yesterday's data: today is not known yet.
    assert "not_up_by_hour" not in alerts_of_not_up(now - timedelta(days=1), 0)
    # A fresh status ahead of a backlog of 4,000 messages: today's frames may be among them.
    assert "not_up_by_hour" not in alerts_of_not_up(now, 4000)
    # Caught up, and still nothing today: now it is said.
    raised = alerts_of_not_up(now, 0)["not_up_by_hour"]
    handled = care.post(f"/alerts/{raised['alert_id']}/handled", json={"note": "Har feber"})
    assert handled.status_code == 200
    # A short drop-out later: while the walker catches up, the alert (and its handling) stays.
    during = alerts_of_not_up(now, 120)["not_up_by_hour"]
    assert during["alert_id"] == raised["alert_id"] and during["handled"]["note"] == "Har feber"
    after = alerts_of_not_up(now, 0)["not_up_by_hour"]
    assert after["alert_id"] == raised["alert_id"] and after["handled"] is not None


def test_overview_figures_and_formatting(api_world: World) -> None:
    care = api_world.client("tenant-a-care")
    ward = api_world.a.ward_ids[0]
    nb = care.get(f"/wards/{ward}/overview").json()
    en = care.get(f"/wards/{ward}/overview", params={"lang": "en"}).json()
    with api_world.connect() as conn:  # the tenant's today, not the machine's UTC date
        today = datetime.now(registry.tenant_time_zone(conn, api_world.a.tenant_id)).date()
    for row_nb, row_en in zip(nb["residents"], en["residents"], strict=True):
        assert [p["date"] for p in row_nb["series"]] == [
            (today - timedelta(days=6 - i)).isoformat() for i in range(7)
        ]
        steps = row_nb["today"]["steps"]
        if steps is not None and steps >= 1000:
            assert row_nb["display"]["steps"] == f"{steps:,}".replace(",", "\u00a0")
            assert row_en["display"]["steps"] == f"{steps:,}"
        level = row_nb["level"]
        if level["steps_median"] and steps is not None:
            assert abs(level["steps_vs_level"] - (steps / level["steps_median"] - 1)) < 1e-9
        if row_nb["gait"]["speed_mps"] is not None:
            assert "," in row_nb["display"]["gait_speed"] and "." in row_en["display"]["gait_speed"]
        assert 0 <= row_nb["coverage_7d"] <= 1
    # A past day is shown without evaluating alerts; the date is validated.
    past = care.get(
        f"/wards/{ward}/overview", params={"date": (today - timedelta(days=3)).isoformat()}
    )
    assert (
        past.status_code == 200 and past.json()["date"] == (today - timedelta(days=3)).isoformat()
    )
    assert care.get(f"/wards/{ward}/overview", params={"date": "1999-01-01"}).status_code == 422


def test_early_in_the_day_yesterday_is_compared_with_the_level_not_today_so_far(
    api_world: World,
) -> None:
    """At 07:00 today has a few steps or none: a day in progress against whole days read
    "−100 %". The overview compares yesterday with the 7 days before it instead (the API keeps
    no steps per hour); today's figures are marked as so far. The clock does not matter: today
    is in progress at any hour, so the test holds whenever it runs."""
    a = api_world.a
    ward = a.ward_ids[0]
    resident = a.residents_by_ward[ward][0]
    with api_world.connect() as conn:
        today = datetime.now(registry.tenant_time_zone(conn, a.tenant_id)).date()
        # Day -8 counts towards yesterday's level (the 7 days before it), not today's.
        steps = {8: 6000, 7: 6000, 6: 6000, 5: 6000, 4: 4000, 3: 4000, 2: 4000, 1: 4800, 0: 0}
        conn.execute("DELETE FROM resident_days WHERE resident_id = %s", (resident,))
        for back, n in steps.items():
            conn.execute(
                """INSERT INTO resident_days (tenant_id, resident_id, day, metric_version,
                       walker_data, robot_data, coverage, steps_n, walking_min)
                   VALUES (%s, %s, %s, 'test', true, false, 0.5, %s, %s)""",
                (a.tenant_id, resident, today - timedelta(days=back), n, n / 100),
            )
    care = api_world.client("tenant-a-care")
    nb = care.get(f"/wards/{ward}/overview").json()
    en = care.get(f"/wards/{ward}/overview", params={"lang": "en"}).json()
    row = next(r for r in nb["residents"] if r["resident_id"] == resident)
    row_en = next(r for r in en["residents"] if r["resident_id"] == resident)
    assert row["today"]["steps"] == 0 and row["display"]["steps"] == "0"
    assert row["level"]["day_complete"] is False
    full = row["last_full_day"]
    assert full["date"] == (today - timedelta(days=1)).isoformat()
    assert full["has_data"] is True and full["steps"] == 4800
    assert full["steps_median"] == 6000 and full["days_with_data"] == 7
    assert abs(full["steps_vs_level"] - (-0.2)) < 1e-9
    assert abs(full["walking_vs_level"] - (-0.2)) < 1e-6
    assert row["display"]["last_full_day_steps"] == "4\u00a0800"
    assert row["display"]["last_full_day_level"] == "\u221220\u00a0%"
    assert row_en["display"]["last_full_day_steps"] == "4,800"
    assert row_en["display"]["last_full_day_level"] in ("-20%", "\u221220%")
    # The old fields keep their meaning (today so far against the level), marked as so far.
    assert row["level"]["steps_median"] == 4800 and row["level"]["steps_vs_level"] == -1.0
    # A past day is complete: it is its own last full day, against the same level.
    past = care.get(
        f"/wards/{ward}/overview", params={"date": (today - timedelta(days=1)).isoformat()}
    ).json()
    prow = next(r for r in past["residents"] if r["resident_id"] == resident)
    assert prow["level"]["day_complete"] is True
    assert prow["last_full_day"]["date"] == prow["today"]["date"] == full["date"]
    assert prow["last_full_day"]["steps_vs_level"] == prow["level"]["steps_vs_level"]
    assert prow["display"]["last_full_day_level"] == prow["display"]["level"]


def test_a_date_after_the_tenants_today_is_refused(api_world: World) -> None:
    """As ``as_of`` and the bouts' day: tomorrow has no data, and the comparison with the
    level would set a day not yet begun against whole days."""
    care = api_world.client("tenant-a-care")
    ward = api_world.a.ward_ids[0]
    with api_world.connect() as conn:
        today = datetime.now(registry.tenant_time_zone(conn, api_world.a.tenant_id)).date()
    assert (
        care.get(f"/wards/{ward}/overview", params={"date": today.isoformat()}).status_code == 200
    )
    for day in (today + timedelta(days=1), date(1999, 12, 31)):
        r = care.get(f"/wards/{ward}/overview", params={"date": day.isoformat()})
        assert r.status_code == 422, (day, r.text)
        assert r.json()["detail"] == f"date {day} is out of range (2000-01-01 to today)"
