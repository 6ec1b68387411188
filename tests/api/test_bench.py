"""`stayactive bench api` runs end to end on a small size and reports every figure."""

from __future__ import annotations

from stayactive.settings import Settings
from stayactive.tools.bench.api import ApiBenchConfig, run


def test_bench_api_small(settings: Settings) -> None:
    lines: list[str] = []
    figures = run(
        settings, ApiBenchConfig(residents=16, wards=2, days=30, requests=20), lines.append
    )
    assert figures["residents"] == 16 and figures["resident_days"] == 16 * 31
    for key in ("ward_p95_ms", "resident_p95_ms", "naive_ward_p95_ms", "naive_resident_p95_ms"):
        assert figures[key] > 0
    assert figures["ward_p50_ms"] <= figures["ward_p95_ms"]
    assert any("seeded 16 residents" in line for line in lines)
