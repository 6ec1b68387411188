"""Messages and rejects per device in ``GET /fleet``: counted right, and fast on large tables."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from stayactive import registry
from tests.api.conftest import World

_FRAME = """
INSERT INTO walker_frames (time, device_id, tenant_id, boot, seq, frame_no, rate_hz, samples,
                           brake_mask, received_at)
VALUES (%s, %s, 'tenant-a', 1, %s, %s, 50, '\\x00000000000000000000000000000000000000000000000000000000000000000000000000000000'::bytea,
        '\\x00'::bytea, %s)
"""  # noqa: E501 (one packed sample of 40 zero bytes)


def _device(world: World, device_id: str, kind: str = "walker") -> None:
    with world.connect() as conn:
        registry.upsert_devices(
            conn,
            "tenant-a",
            [registry.NewDevice(device_id, kind, "SN-" + device_id, world.a.ward_ids[0])],  # type: ignore[arg-type]
        )


def _traffic(world: World, device_id: str) -> dict[str, object]:
    fleet = world.client("tenant-a-care").get("/fleet").json()
    return next(d["traffic"] for d in fleet if d["device_id"] == device_id)


def test_messages_and_rejects_per_device(api_world: World) -> None:
    world = api_world
    _device(world, "W-traffic-1")
    _device(world, "R-traffic-1", "robot")
    now = datetime.now(UTC)
    with world.connect() as conn:
        # Walker: 3 messages of 5 frames in the last hour, 2 of 1 frame five hours ago, 1
        # yesterday before the window; a replayed backlog counts when it was recorded.
        messages = [(now - timedelta(minutes=m), 5) for m in (5, 20, 50)] + [
            (now - timedelta(hours=5, minutes=m), 1) for m in (1, 2)
        ] + [(now - timedelta(hours=30), 1)]  # fmt: skip
        for seq, (at, frames) in enumerate(messages, start=1):
            for no in range(frames):
                conn.execute(_FRAME, (at + timedelta(seconds=no), "W-traffic-1", seq, no, now))
        # Its status: one now, one (the last will, seq 0) three hours ago.
        for at, s in ((now - timedelta(minutes=1), 7), (now - timedelta(hours=3), 0)):
            conn.execute(
                """INSERT INTO device_status (time, device_id, tenant_id, boot, seq, state,
                       received_at) VALUES (%s, 'W-traffic-1', 'tenant-a', 1, %s, 'online', %s)""",
                (at, s, now),
            )
        # Robot: two events in the last hour.
        for s in (1, 2):
            conn.execute(
                """INSERT INTO robot_events (time, device_id, tenant_id, boot, seq, event,
                       session_id, body, received_at)
                   VALUES (%s, 'R-traffic-1', 'tenant-a', 1, %s, 'exercise', 's-1-1', '{}', %s)""",
                (now - timedelta(minutes=10 * s), s, now),
            )
        # Rejects by arrival: 2 this hour, 1 ten hours ago, 1 two days ago; another device's.
        for hours, device in ((0.1, "W-traffic-1"), (0.5, "W-traffic-1"), (10, "W-traffic-1"),
                              (48, "W-traffic-1"), (0.1, "R-traffic-1")):  # fmt: skip
            conn.execute(
                """INSERT INTO ingest_rejects (received_at, topic, device_id, reason, payload,
                                               payload_size, payload_sha256)
                   VALUES (%s, 'stayactive/v1/x/telemetry', %s, 'schema', '\\x00',
                           1, sha256('\\x00'))""",
                (now - timedelta(hours=hours), device),
            )
        # Beyond its reject rate limit: 40 counted, not kept, this hour; 5 three days ago.
        conn.execute(
            """INSERT INTO ingest_reject_overflow (device_id, reason, window_start,
                   suppressed_n, payload_bytes, last_received_at)
               VALUES ('W-traffic-1', 'schema', date_trunc('hour', %(t)s), 40, 40, %(t)s),
                      ('W-traffic-1', 'schema', date_trunc('hour', %(old)s), 5, 5, %(old)s)""",
            {"t": now - timedelta(minutes=2), "old": now - timedelta(days=3)},
        )
    walker = _traffic(world, "W-traffic-1")
    assert walker == {
        "messages_1h": 3 + 1,
        "messages_24h": 3 + 2 + 2,
        "rejects_1h": 2 + 40,
        "rejects_24h": 3 + 40,
        "reject_share_24h": pytest.approx(43 / (7 + 43)),
    }
    robot = _traffic(world, "R-traffic-1")
    assert (robot["messages_1h"], robot["messages_24h"], robot["rejects_24h"]) == (2, 2, 1)
    _device(world, "W-traffic-silent")
    assert _traffic(world, "W-traffic-silent") == {
        "messages_1h": 0, "messages_24h": 0, "rejects_1h": 0, "rejects_24h": 0,
        "reject_share_24h": None,
    }  # fmt: skip


def test_fleet_stays_fast_on_a_large_frame_table(
    api_world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """20 walkers sending every 5 s for a whole day (two frames a message): 691,200 frame rows.
    The fleet call must not scan them."""
    world = api_world
    devices = [f"W-busy-{i:02d}" for i in range(20)]
    with world.connect() as conn:
        registry.upsert_devices(
            conn, "tenant-a",
            [registry.NewDevice(d, "walker", "SN-" + d, world.a.ward_ids[0]) for d in devices],
        )  # fmt: skip
        t0 = seeded_from = time.perf_counter()
        # The rows are timed from the transaction's start; the API counts from its own now,
        # so the messages that slid out of the window meanwhile are allowed for below.
        conn.execute(
            """INSERT INTO walker_frames (time, device_id, tenant_id, boot, seq, frame_no,
                   rate_hz, samples, brake_mask, received_at)
               SELECT now() - make_interval(secs => 5 * m) + make_interval(secs => f),
                      d, 'tenant-a', 1, 17280 - m, f, 50, decode(repeat('00', 40), 'hex'),
                      '\\x00'::bytea, now()
               FROM unnest(%s::text[]) AS d, generate_series(0, 17279) AS m,
                    generate_series(0, 1) AS f""",
            (devices,),
        )
        conn.execute("ANALYZE walker_frames")
        seeded_s = time.perf_counter() - t0
    care = world.client("tenant-a-care")
    care.get("/fleet")  # warm the connection and the plan
    timings = []
    for _ in range(5):
        t0 = time.perf_counter()
        fleet = care.get("/fleet").json()
        timings.append(time.perf_counter() - t0)
    busy = [d["traffic"] for d in fleet if d["device_id"] in devices]
    assert len(busy) == 20
    slid = int((time.perf_counter() - seeded_from) / 5) + 1  # one message per 5 s left the window
    assert all(17_280 - slid <= t["messages_24h"] <= 17_280 for t in busy), busy[:2]
    assert all(720 - slid <= t["messages_1h"] <= 720 for t in busy), busy[:2]
    median_ms = sorted(timings)[2] * 1000
    with capsys.disabled():
        # The count is an index range per device: it grows with a device's last 24 hours of
        # messages (17,280 for a walker uploading all day), not with the table's history.
        print(
            f"\nGET /fleet with traffic, {len(fleet)} devices, 691,200 frame rows of the busy "
            f"20 (seeded in {seeded_s:.1f} s, not vacuumed): median {median_ms:.0f} ms of 5, "
            f"{median_ms / 20:.1f} ms per walker uploading all day"
        )
    assert median_ms < 1000, f"GET /fleet took {median_ms:.0f} ms"
