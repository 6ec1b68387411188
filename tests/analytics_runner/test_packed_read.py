"""The packed walker samples (migration 0011) and the one-COPY read give exactly what the
array columns and the old read gave: byte for byte per window, and the same resident-day
metrics, on awkward days (DST, a walker swapped mid-day, duplicates, a clock stepping back,
a rate change, bouts across midnight and across an assignment's end)."""

from __future__ import annotations

import gc
import hashlib
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import psycopg
import pytest
from psycopg.rows import TupleRow

from analytics import store as runner_store
from analytics.frames import FrameArrays, FrameStreamError, Window, load_windows, parse
from analytics.mobility import CONTEXT_S, local_day_window
from analytics.runner import AnalyticsRunner, compute_resident_day
from firmware_sim.world import synthesize_bout
from ingest import store as ingest_store
from ingest.messages import Envelope, Frame, WalkerTelemetry
from stayactive import db, registry
from stayactive.db import walker_samples
from stayactive.registry import NewDevice
from stayactive.tools.validation.analytics import wire_arrays
from tests.analytics_runner.legacy_read import (
    legacy_load_frames,
    legacy_marked,
    legacy_resident_day,
)
from tests.fixtures.services import Schema

TENANT = "readtest"
OSLO = ZoneInfo("Europe/Oslo")
SPRING = date(2026, 3, 29)  # 23 hours in Oslo
AUTUMN = date(2026, 10, 25)  # 25 hours


@dataclass(frozen=True)
class StoredFrame:
    t0: datetime
    rate_hz: float
    samples: npt.NDArray[np.float32]  # (10, n)
    brake: npt.NDArray[np.bool_]
    boot: int
    seq: int
    frame_no: int


def _local(day: date, hour: int, minute: int, fold: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=OSLO, fold=fold)


def _bout(
    start: datetime, seconds: float, seed: int, *, rate_hz: float = 50.0, boot: int = 1,
    seq0: int = 1,
) -> list[StoredFrame]:  # fmt: skip
    """Simulated walking from ``start``, cut into one-second frames as a walker sends them."""
    a = wire_arrays(synthesize_bout(0.6, seconds, seed=seed, fs_hz=rate_hz).signals)
    values = np.vstack([a["acc_mps2"].T, a["gyro_radps"].T, a["odo_l_m"], a["odo_r_m"],
                        a["force_l_n"], a["force_r_n"]]).astype(np.float32)  # fmt: skip
    per = int(rate_hz)
    frames = []
    for i, k in enumerate(range(0, values.shape[1], per)):
        frames.append(
            StoredFrame(
                t0=start.astimezone(UTC) + timedelta(seconds=k / rate_hz),
                rate_hz=rate_hz,
                samples=values[:, k : k + per],
                brake=a["brake"][k : k + per] > 0.5,
                boot=boot,
                seq=seq0 + i // 5,
                frame_no=i % 5,
            )
        )
    return frames


def _insert_arrays(
    conn: psycopg.Connection[TupleRow], device: str, frames: list[StoredFrame]
) -> None:
    """The frames as the array columns take them (before 0011; after it, through its trigger)."""
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO walker_frames (time, device_id, tenant_id, boot, seq, frame_no, "
            "rate_hz, acc_x, acc_y, acc_z, gyro_x, gyro_y, gyro_z, odo_l, odo_r, force_l, "
            "force_r, brake, received_at) VALUES (%s, %s, %s, %s, %s, %s, %s, "
            + ", ".join(["%s::real[]"] * 10)
            + ", %s, now())",
            [
                (f.t0, device, TENANT, f.boot, f.seq, f.frame_no, f.rate_hz,
                 *(row.tolist() for row in f.samples), f.brake.tolist())
                for f in frames
            ],
        )  # fmt: skip


def _write_as_ingest(
    conn: psycopg.Connection[TupleRow], device: str, frames: list[StoredFrame]
) -> None:
    """The frames through ingest's writer (packed, binary COPY through its staging table)."""
    ingest_store.prepare(conn)
    now = datetime.now(UTC)
    messages = []
    for f in frames:
        seq = f.seq * 10 + f.frame_no
        # ingest keys each message with its payload's hash; these messages have no payload
        sha = hashlib.sha256(f"{device}/{f.boot}/{seq}".encode()).digest()
        env = Envelope(device, TENANT, f.boot, seq, None, now, payload_sha256=sha)
        messages.append(
            WalkerTelemetry(env, [Frame(f.t0, f.rate_hz, f.samples.astype(np.float64), f.brake)])
        )
    ingest_store.write_batch(conn, messages, [])


def _scenario() -> dict[str, list[StoredFrame]]:
    """Frames per walker; see the module docstring."""
    w1 = (
        _bout(_local(SPRING - timedelta(days=1), 10, 0), 60, 1)
        + _bout(_local(SPRING, 1, 59), 90, 2, seq0=100)  # across the missing hour
        + _bout(_local(SPRING, 12, 58), 150, 3, seq0=200)  # across W1's assignment end
    )
    w2 = (
        _bout(_local(SPRING, 12, 50), 60, 4)  # before W2's assignment: context only
        + _bout(_local(SPRING, 15, 0), 90, 5, seq0=100)
        # The clock stepped back 20 s after a reboot: frames overlap the bout before.
        + _bout(_local(SPRING, 15, 1) + timedelta(seconds=10), 40, 6, boot=2, seq0=1)
        # A replay after another reboot: the first frames again, same times, new boot.
        + _bout(_local(SPRING, 15, 0), 12, 5, boot=3, seq0=1)
        + _bout(_local(SPRING, 18, 0), 45, 7, rate_hz=25.0, seq0=300)  # a new rate
        + _bout(_local(SPRING, 23, 55), 600, 8, seq0=400)  # across midnight
    )
    w3 = (
        _bout(_local(AUTUMN, 2, 30, fold=0), 60, 9)  # 02:30 summer time
        + _bout(_local(AUTUMN, 2, 30, fold=1), 60, 10, seq0=100)  # 02:30 again, winter time
        + _bout(_local(AUTUMN, 20, 0), 120, 11, seq0=200)
    )
    return {"W-read-1": w1, "W-read-2": w2, "W-read-3": w3}


def _register(conn: psycopg.Connection[TupleRow], devices: list[str]) -> dict[str, int]:
    registry.ensure_tenant(conn, TENANT, "Read test")
    registry.upsert_devices(conn, TENANT, [NewDevice(d, "walker", "SN-" + d) for d in devices])
    residents = {p: registry.ensure_resident(conn, TENANT, p, 1940) for p in ("res-1", "res-2")}
    swap = _local(SPRING, 13, 0)
    registry.assign_device(conn, TENANT, "W-read-1", residents["res-1"],
                           _local(SPRING - timedelta(days=1), 0, 0), swap)  # fmt: skip
    registry.assign_device(conn, TENANT, "W-read-2", residents["res-1"], swap,
                           _local(SPRING + timedelta(days=2), 0, 0))  # fmt: skip
    registry.assign_device(conn, TENANT, "W-read-3", residents["res-2"],
                           _local(AUTUMN - timedelta(days=1), 12, 0),
                           _local(AUTUMN + timedelta(days=1), 12, 0))  # fmt: skip
    # Both consented to their device data's use in care: the runner computes only such days.
    for resident_id in residents.values():
        conn.execute(
            """INSERT INTO consents (tenant_id, resident_id, purpose, valid)
               VALUES (%s, %s, 'care', tstzrange('2020-01-01', NULL))""",
            (TENANT, resident_id),
        )
    return residents


RESIDENT_DAYS = [("res-1", SPRING + timedelta(days=k)) for k in (-1, 0, 1)] + [
    ("res-2", AUTUMN + timedelta(days=k)) for k in (-1, 0, 1)
]


@pytest.fixture
def legacy_then_packed(empty_schema: Schema) -> Iterator[Schema]:
    """A schema with the scenario stored in the array columns, not yet migrated to 0011."""
    before = [m for m in db.available_migrations() if m.version < 11]
    db.migrate(empty_schema.settings, schema=empty_schema.name, migrations=before)
    with empty_schema.connect() as conn:
        frames = _scenario()
        _register(conn, list(frames))
        for device, stored in frames.items():
            _insert_arrays(conn, device, stored)
    yield empty_schema


def _windows(
    conn: psycopg.Connection[TupleRow], who: runner_store.Resident, day: date
) -> list[Window]:
    start_s, end_s = local_day_window(day, who.time_zone)
    out = []
    for a in runner_store.assignments(conn, who.resident_id, _utc(start_s), _utc(end_s)):
        w0 = max(start_s, a.start.timestamp())
        w1 = min(end_s, a.end.timestamp() if a.end else end_s)
        if w1 > w0:
            out.append(Window(a.device_id, _utc(w0 - CONTEXT_S), _utc(w1 + CONTEXT_S)))
    return out


def _utc(t_s: float) -> datetime:
    return datetime.fromtimestamp(t_s, UTC)


def _who(conn: psycopg.Connection[TupleRow], pseudonym: str) -> runner_store.Resident:
    row = conn.execute("SELECT resident_id FROM residents WHERE pseudonym = %s", (pseudonym,))
    found = row.fetchone()
    assert found is not None
    return runner_store.resident(conn, int(found[0]))


def _assert_same(new: FrameArrays, old: tuple[npt.NDArray[np.float64], ...]) -> None:
    t, samples, brake = old
    assert new.t_s.dtype == t.dtype and new.t_s.tobytes() == t.tobytes()
    assert new.samples.tobytes() == samples.tobytes()
    assert new.brake.dtype == np.bool_ and new.brake.tobytes() == brake.tobytes()
    for column in (new.acc_mps2, new.gyro_radps, new.odo_l_m, new.force_r_n, new.t_s):
        assert column.flags.c_contiguous


def test_packed_read_and_metrics_equal_the_old_ones(legacy_then_packed: Schema) -> None:
    schema = legacy_then_packed
    with schema.connect() as conn:
        old_arrays, old_metrics = {}, {}
        for pseudonym, day in RESIDENT_DAYS:
            who = _who(conn, pseudonym)
            old_arrays[pseudonym, day] = [
                legacy_load_frames(conn, w.device_id, w.start, w.end)
                for w in _windows(conn, who, day)
            ]
            old_metrics[pseudonym, day] = legacy_resident_day(conn, who, day)
    db.migrate(schema.settings, schema=schema.name)  # 0011 packs the stored arrays
    with schema.connect() as conn:
        left = conn.execute(
            "SELECT count(*) FROM walker_frames WHERE acc_x IS NOT NULL OR samples IS NULL"
        ).fetchone()
        assert left == (0,)
        windows_seen = 0
        for pseudonym, day in RESIDENT_DAYS:
            who = _who(conn, pseudonym)
            windows = _windows(conn, who, day)
            new = load_windows(conn, windows)  # one COPY for all of the day's walkers
            assert len(new) == len(old_arrays[pseudonym, day])
            for arrays, old in zip(new, old_arrays[pseudonym, day], strict=True):
                _assert_same(arrays, old)
            windows_seen += len(windows)
            assert compute_resident_day(conn, who, day) == old_metrics[pseudonym, day]
        assert windows_seen == 7  # the swap day has two walkers
        # The awkward frames are in there: a clock that steps back, duplicated times.
        t = load_windows(conn, _windows(conn, _who(conn, "res-1"), SPRING))[1].t_s
        assert np.any(np.diff(t) < 0) and len(np.unique(t)) < len(t)
        assert sum(m.steps_n or 0 for m, _d in old_metrics.values()) > 100


def _days_reading(conn: psycopg.Connection[TupleRow], new: str) -> set[tuple[int, date]]:
    """The resident-days whose read (their assigned hours with the detectors' context on
    both sides) holds a frame matching the SQL condition ``new``."""
    out = set()
    for pseudonym, day in RESIDENT_DAYS:
        who = _who(conn, pseudonym)
        for w in _windows(conn, who, day):
            row = conn.execute(
                f"SELECT 1 FROM walker_frames WHERE device_id = %s AND time >= %s "
                f"AND time < %s AND {new} LIMIT 1",
                (w.device_id, w.start, w.end),
            ).fetchone()
            if row:
                out.add((who.resident_id, day))
    return out


def test_marking_finds_every_day_whose_read_holds_a_new_frame(
    legacy_then_packed: Schema,
) -> None:
    """Marking by the hour marks exactly the resident-days whose read holds a newly stored
    frame: with every frame new, and with only the minutes before a midnight arriving late
    (a device's buffer replayed after an outage), which the day after reads as context."""
    db.migrate(legacy_then_packed.settings, schema=legacy_then_packed.name)
    context = timedelta(seconds=CONTEXT_S)
    with legacy_then_packed.connect() as conn:
        expected = _days_reading(conn, "true")
        assert legacy_marked(conn) == expected  # the frame-by-frame marking of before 0011
        conn.execute("DELETE FROM analytics_dirty")  # what the assignments' trigger marked
        runner_store.mark_new_data(conn, datetime.now(UTC), context)
        rows = conn.execute("SELECT resident_id, day FROM analytics_dirty").fetchall()
        # Bouts across midnight, across an assignment's end and in both 02:30s of autumn.
        assert {(int(r), d) for r, d in rows} == expected
        assert len(expected) == 4  # res-2 walked on the autumn day only

        # The bout that starts at 23:55 and crosses midnight: its first five minutes arrive
        # after both days were computed. Both days read them; both are marked again.
        midnight = _local(SPRING + timedelta(days=1), 0, 0)
        conn.execute("DELETE FROM analytics_dirty")
        conn.execute("UPDATE walker_frames SET stored_at = '2001-01-01Z'")
        late = conn.execute(
            """UPDATE walker_frames SET stored_at = '2001-01-02Z'
               WHERE time >= %s AND time < %s""",
            (midnight - timedelta(minutes=5), midnight),
        ).rowcount
        assert late > 0
        runner_store.mark_new_data(conn, datetime(2001, 1, 1, 12, tzinfo=UTC), context)
        runner_store.mark_new_data(conn, datetime(2001, 1, 3, tzinfo=UTC), context)
        rows = conn.execute("SELECT resident_id, day FROM analytics_dirty").fetchall()
        late_days = _days_reading(conn, "stored_at > '2001-01-01 12:00Z'")
        assert {(int(r), d) for r, d in rows} == late_days
        assert {d for _r, d in late_days} == {SPRING, SPRING + timedelta(days=1)}


def test_ingest_and_array_writers_store_the_same_packed_rows(
    legacy_then_packed: Schema,
) -> None:
    schema = legacy_then_packed
    frames = _scenario()["W-read-2"]
    with schema.connect() as conn:
        window = Window("W-read-2", _local(SPRING, 0, 0), _local(SPRING + timedelta(days=1), 1, 0))
        old = legacy_load_frames(conn, window.device_id, window.start, window.end)
    db.migrate(schema.settings, schema=schema.name)
    with schema.connect() as conn:
        registry.upsert_devices(
            conn, TENANT, [NewDevice(d, "walker", "SN-" + d) for d in ("W-ing", "W-arr")]
        )
        _write_as_ingest(conn, "W-ing", frames)  # packed by ingest
        _insert_arrays(conn, "W-arr", frames)  # packed by the trigger
        rows = conn.execute(
            """SELECT count(*) FILTER (WHERE a.samples = b.samples AND a.brake_mask = b.brake_mask
                                         AND a.samples = c.samples), count(*)
               FROM walker_frames a
               JOIN walker_frames b ON b.device_id = 'W-ing' AND b.time = a.time
                                    AND b.boot = a.boot AND b.rate_hz = a.rate_hz
                                    AND b.seq = a.seq * 10 + a.frame_no
               JOIN walker_frames c ON c.device_id = 'W-arr' AND c.time = a.time
                                    AND c.boot = a.boot AND c.seq = a.seq
                                    AND c.frame_no = a.frame_no
               WHERE a.device_id = 'W-read-2'"""
        ).fetchone()
        assert rows == (len(frames), len(frames))
        for device in ("W-read-2", "W-arr"):
            (new,) = load_windows(conn, [Window(device, window.start, window.end)])
            _assert_same(new, old)
        # For people reading the table: a channel back as an array.
        first = frames[0]
        got = conn.execute(
            "SELECT walker_channel(samples, 9) FROM walker_frames WHERE device_id = 'W-arr' "
            "AND time = %s AND boot = %s AND seq = %s",
            (first.t0, first.boot, first.seq),
        ).fetchone()
        assert got is not None and np.array_equal(np.float32(got[0]), first.samples[8])


def test_the_runner_writes_what_it_computes(legacy_then_packed: Schema) -> None:
    schema = legacy_then_packed
    db.migrate(schema.settings, schema=schema.name)
    with schema.connect() as conn:
        expected = {
            (pseudonym, day): compute_resident_day(conn, _who(conn, pseudonym), day)
            for pseudonym, day in RESIDENT_DAYS
        }
    assert sum(1 for m, _d in expected.values() if m.walker_data) >= 4
    report = AnalyticsRunner(schema.settings, safety_lag=timedelta(0)).run_once()
    assert report.computed >= len(RESIDENT_DAYS)
    assert report.times.read_s > 0 and report.times.compute_s > 0 and report.times.write_s > 0
    with schema.connect() as conn:
        for (pseudonym, day), (metrics, device) in expected.items():
            row = conn.execute(
                """SELECT d.device_id, d.steps_n, d.bouts_n, d.walker_data, d.distance_m
                   FROM resident_days d JOIN residents r USING (resident_id)
                   WHERE r.pseudonym = %s AND d.day = %s""",
                (pseudonym, day),
            ).fetchone()
            assert row is not None
            assert row[:4] == (device, metrics.steps_n, metrics.bouts_n, metrics.walker_data)
            if metrics.distance_m is None:
                assert row[4] is None
            else:  # stored as real
                assert row[4] == pytest.approx(metrics.distance_m, rel=1e-6)
        assert conn.execute("SELECT count(*) FROM analytics_dirty").fetchone() == (0,)


def test_a_resident_day_leaves_no_garbage_cycles(legacy_then_packed: Schema) -> None:
    """Memory bounded by one resident-day: what a day read and computed is freed when the day
    is done, not at the next full garbage collection (hundreds of days later, perhaps)."""
    db.migrate(legacy_then_packed.settings, schema=legacy_then_packed.name)
    with legacy_then_packed.connect() as conn:
        who = _who(conn, "res-1")
        compute_resident_day(conn, who, SPRING)  # caches filled, modules loaded
        gc.collect()
        gc.disable()
        try:
            metrics, _device = compute_resident_day(conn, who, SPRING)
            found = gc.collect()
        finally:
            gc.enable()
    assert metrics.walker_data and found == 0


def test_a_table_row_of_arrays_that_do_not_match_is_refused(legacy_then_packed: Schema) -> None:
    db.migrate(legacy_then_packed.settings, schema=legacy_then_packed.name)
    frame = _bout(_local(SPRING, 9, 0), 2, 12)[0]
    short = StoredFrame(frame.t0, 50.0, frame.samples, frame.brake[:-1], 1, 900, 0)
    with legacy_then_packed.connect() as conn, pytest.raises(psycopg.errors.CheckViolation):
        _insert_arrays(conn, "W-read-1", [short])


def test_parse_refuses_a_stream_that_is_not_frames() -> None:
    with pytest.raises(FrameStreamError):
        parse(b"not a copy stream")
    header = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
    with pytest.raises(FrameStreamError):
        parse(header + b"\x00\x05" + bytes(40) + b"\xff\xff")
    empty = parse(header + b"\xff\xff", 2)
    assert [len(a) for a in empty] == [0, 0]


_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)


def _copy_row(k: int, frames: list[tuple[int, float, npt.NDArray[np.float32]]]) -> bytes:
    """One row of the read's COPY: window ``k`` and frames of (microseconds, rate, (n, 10))."""
    heads = b"".join(struct.pack("!qfi", t_us, rate, len(v)) for t_us, rate, v in frames)
    samples = b"".join(v.astype(">f4").tobytes() for _t, _r, v in frames)
    brakes = b"".join(bytes(len(v)) for _t, _r, v in frames)
    fields = [struct.pack("!i", k), heads, samples, brakes]
    return struct.pack("!h", 4) + b"".join(struct.pack("!i", len(f)) + f for f in fields)


def test_parse_reads_rows_whichever_way_the_stream_is_cut() -> None:
    rng = np.random.default_rng(5)
    frame = [(10**9 + 10**6 * i, 50.0, rng.normal(size=(50, 10)).astype(np.float32))
             for i in range(7)]  # fmt: skip
    rows = [_copy_row(0, frame[:3]), _copy_row(0, frame[3:5]), _copy_row(1, frame[5:])]
    whole = _HEADER + b"".join(rows) + b"\xff\xff"
    expected = parse(whole, 2)
    assert [len(a) for a in expected] == [250, 100]
    assert expected[1].values.flags.c_contiguous and expected[1].values.shape == (10, 100)
    assert np.array_equal(expected[1].samples, np.vstack([v for _t, _r, v in frame[5:]]))
    assert expected[0].t_s[50] == pytest.approx(
        1001.0 + datetime(2000, 1, 1, tzinfo=UTC).timestamp()
    )
    for chunks in (
        [_HEADER, *rows, b"\xff\xff"],  # as PostgreSQL sends it: a message a row
        [_HEADER + rows[0], rows[1], rows[2] + b"\xff\xff"],
        [whole[:1000], whole[1000:5001], whole[5001:]],  # rows across chunks: joined
    ):
        got = parse(chunks, 2)
        for a, b in zip(got, expected, strict=True):
            assert a.t_s.tobytes() == b.t_s.tobytes() and a.values.tobytes() == b.values.tobytes()
            assert a.brake.tobytes() == b.brake.tobytes()


def test_parse_refuses_rows_that_disagree_with_their_frame_heads() -> None:
    v = np.zeros((50, 10), np.float32)
    row = _copy_row(0, [(0, 50.0, v)])
    short = row[:-10]  # the brake bytes cut short, the lengths fixed to match
    short = short[: len(short) - 40 - 4] + struct.pack("!i", 40) + bytes(40)
    for stream in (
        _HEADER + short + b"\xff\xff",
        _HEADER + _copy_row(1, [(0, 50.0, v)]) + _copy_row(0, [(0, 50.0, v)]) + b"\xff\xff",
        _HEADER + row,  # no trailer
        _HEADER + row + row[:7] + b"\xff\xff",
    ):
        with pytest.raises(FrameStreamError):
            parse(stream, 2)


def test_pack_samples_is_sample_major() -> None:
    values = np.arange(20, dtype=np.float64).reshape(10, 2)  # channel c, sample i: 2c + i
    packed = np.frombuffer(walker_samples.pack_samples(values), walker_samples.SAMPLE_DTYPE)
    assert packed.tolist() == [float(2 * c + i) for i in range(2) for c in range(10)]
    assert walker_samples.pack_brake([True, False, True]) == b"\x01\x00\x01"
    with pytest.raises(ValueError, match="shape"):
        walker_samples.pack_samples(values.T)


def test_a_late_status_or_robot_event_marks_every_day_that_reads_it(
    legacy_then_packed: Schema,
) -> None:
    """A status opens a monitored interval of up to ``STATUS_GAP_S`` (the coverage of the
    days it reaches), and robot events are read ``ROBOT_CONTEXT`` either side of a day: a
    late one, just before midnight, marks both days; a session's late end marks the resident
    its session named."""
    db.migrate(legacy_then_packed.settings, schema=legacy_then_packed.name)
    context = timedelta(seconds=CONTEXT_S)
    before_midnight = _local(SPRING + timedelta(days=1), 0, 0) - timedelta(minutes=5)
    with legacy_then_packed.connect() as conn:
        runner_store.mark_new_data(conn, datetime.now(UTC), context)  # everything so far seen
        conn.execute("DELETE FROM analytics_dirty")
        res_1 = _who(conn, "res-1").resident_id
        conn.execute(
            """INSERT INTO device_status (time, device_id, tenant_id, boot, seq, state,
                                          received_at)
               VALUES (%s, 'W-read-2', %s, 1, 9000, 'online', now())""",
            (before_midnight, TENANT),
        )
        runner_store.mark_new_data(conn, datetime.now(UTC), context)
        marked = conn.execute("SELECT resident_id, day FROM analytics_dirty").fetchall()
        assert set(marked) == {(res_1, SPRING), (res_1, SPRING + timedelta(days=1))}

        conn.execute("DELETE FROM analytics_dirty")
        autumn_evening = _local(AUTUMN - timedelta(days=1), 22, 0)
        conn.execute(
            """INSERT INTO robot_events (time, device_id, tenant_id, boot, seq, event,
                                         session_id, body, received_at)
               VALUES (%(t)s, 'R-1', %(tenant)s, 1, 1, 'session_start', 's-1',
                       '{"participants": ["res-2"]}', now() - interval '1 day'),
                      (%(t)s + interval '50 minutes', 'R-1', %(tenant)s, 1, 2, 'session_end',
                       's-1', '{}', now())""",
            {"t": autumn_evening, "tenant": TENANT},
        )
        conn.execute("UPDATE robot_events SET stored_at = now() - interval '1 day' WHERE seq = 1")
        runner_store.mark_new_data(conn, datetime.now(UTC), context)
        marked = conn.execute("SELECT resident_id, day FROM analytics_dirty").fetchall()
        res_2 = _who(conn, "res-2").resident_id
        # The session's end (22:50) is read by its own day and the next (within 3 hours).
        assert set(marked) == {(res_2, AUTUMN - timedelta(days=1)), (res_2, AUTUMN)}

        # An exercise names its one participant: a late one at noon marks that day only.
        conn.execute("DELETE FROM analytics_dirty")
        conn.execute(
            """INSERT INTO robot_events (time, device_id, tenant_id, boot, seq, event,
                                         session_id, body, received_at)
               VALUES (%s, 'R-1', %s, 1, 3, 'exercise', 's-2', '{"participant": "res-1"}',
                       now())""",
            (_local(AUTUMN, 12, 0), TENANT),
        )
        runner_store.mark_new_data(conn, datetime.now(UTC), context)
        marked = conn.execute("SELECT resident_id, day FROM analytics_dirty").fetchall()
        assert set(marked) == {(res_1, AUTUMN)}
