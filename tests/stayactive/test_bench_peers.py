"""The published gait pipelines of `stayactive bench analytics` run on our data and agree
with us about what is there (they are compared on speed, so they must do the same work)."""

from __future__ import annotations

import pytest

from analytics.mobility import WalkerDayInput, walker_day_metrics
from firmware_sim.world import synthesize_bout
from stayactive.tools.bench import gait_peers
from stayactive.tools.validation.analytics import wire_arrays

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", sorted(gait_peers.PEERS))
def test_a_peer_finds_the_walk_we_find(name: str) -> None:
    assert gait_peers.peer_version(name) is not None, "make setup installs the 'peers' extra"
    a = wire_arrays(synthesize_bout(0.6, 120.0, seed=3).signals)
    inp = WalkerDayInput("W-peer", float(a["t_s"][0]) - 60, float(a["t_s"][-1]) + 60, **a)
    ours = walker_day_metrics(inp)
    assert ours.steps_n is not None and ours.steps_n > 100
    result = gait_peers.run_peer(name, inp, [(b.start_s, b.end_s) for b in ours.bouts])
    assert result.seconds > 0 and result.bouts_n >= 1
    assert result.steps_n == pytest.approx(ours.steps_n, rel=0.1)
