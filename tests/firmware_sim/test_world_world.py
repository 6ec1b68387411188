"""The assembled world: assignments, day truth = signal truth, truth file, isolation."""

from __future__ import annotations

import itertools
import re
from datetime import datetime
from pathlib import Path

from firmware_sim.world import World, WorldConfig, read_truth, to_epoch_s, write_truth
from tests.firmware_sim.world_helpers import OSLO


def small_world(seed: int = 7) -> World:
    return World(
        WorldConfig(
            start=datetime(2026, 3, 23, tzinfo=OSLO),
            days=10,
            n_stays=16,
            seed=seed,
            walkers_per_ward=10,
            effect=0.3,
        )
    )


def test_assignments_do_not_overlap_and_follow_stays() -> None:
    world = small_world()
    by_pseudonym = {s.resident.pseudonym: s for s in world.stays}
    per_device: dict[str, list[tuple[float, float]]] = {}
    assert world.assignments
    for a in world.assignments:
        stay = by_pseudonym[a.pseudonym]
        assert stay.intervention
        assert stay.admitted_at < a.valid_from
        assert a.valid_to == stay.discharged_at
        hi = float("inf") if a.valid_to is None else to_epoch_s(a.valid_to)
        per_device.setdefault(a.device_id, []).append((to_epoch_s(a.valid_from), hi))
    for spans in per_device.values():
        spans.sort()
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert end <= start


def test_day_truth_matches_signal_truth_and_is_written(tmp_path: Path) -> None:
    world = small_world()
    day = world.local_dates()[6]  # 2026-03-29, the 23-hour day
    log = world.day_truth(day)
    counts = log.counts()
    walker_steps = 0
    for device_id in world.walkers:
        for exc in world.iter_walker_signals(device_id, day):
            walker_steps += len(exc.truth.steps)
            assert len(exc.signals) > 0
    assert counts["step"] == walker_steps > 0
    path = tmp_path / "truth.jsonl"
    write_truth(path, world.stay_truth())
    write_truth(path, log, append=True)
    records = list(read_truth(path))
    kinds = {r["type"] for r in records}
    assert {"stay", "assignment", "walker_use", "bout", "step", "transition"} <= kinds
    assert sum(r["type"] == "step" for r in records) == walker_steps
    assert sum(r["type"] == "stay" for r in records) == len(world.stays)


def test_ids_match_the_device_protocol() -> None:
    world = small_world()
    device_id = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
    assert all(device_id.fullmatch(d) for d in [*world.walkers, *world.robots])
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{4,64}", s.resident.pseudonym) for s in world.stays)
    sessions = [
        s
        for day in world.local_dates()
        for w in world.config.wards
        for s in world.robot_sessions(w, day)
    ]
    assert sessions
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{1,64}", s.session_id) for s in sessions)


def test_world_is_deterministic() -> None:
    a, b = small_world(3), small_world(3)
    day = a.local_dates()[4]
    assert a.assignments == b.assignments
    assert a.day_truth(day).records == b.day_truth(day).records
