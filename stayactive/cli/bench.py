"""``stayactive bench …``: benchmarks that measure and print figures (not timed tests)."""

from __future__ import annotations

import json
from typing import Any

import typer

from stayactive.settings import get_settings
from stayactive.tools.bench import api as api_bench
from stayactive.tools.bench import ingest as ingest_bench

app = typer.Typer(help="Benchmarks with baselines measured in the same run.", no_args_is_help=True)


@app.command()
def ingest(
    devices: int = typer.Option(200, min=1, help="Simulated walkers."),
    seconds: float = typer.Option(30.0, min=1, help="Length of the sustained phase."),
    rate: float = typer.Option(3000.0, min=1, help="Offered walker frames per second."),
    workers: int = typer.Option(1, min=1, max=8, help="Ingest workers on the shared subscription."),
    backlog: int = typer.Option(10000, min=100, help="Messages of the capacity phase."),
    as_json: bool = typer.Option(False, "--json", help="End with the figures as one JSON line."),
) -> None:
    """Simulated walkers through the real broker into the real database."""
    config = ingest_bench.IngestBenchConfig(devices, seconds, rate, workers, backlog)
    figures = ingest_bench.run(get_settings(), config, lambda line: typer.echo(line, err=True))
    f = figures
    split = ", ".join(f"{n:.0f}" for n in f["split"])
    lines = [
        f"sustained  {f['frames_per_s']:8.0f} frames/s committed "
        f"({f['samples_per_s']:.0f} samples/s), offered {rate:.0f}",
        f"latency    p50 {f['p50_latency_s']:.3f} s, p99 {f['p99_latency_s']:.3f} s "
        "(publish to commit)",
        f"integrity  {f['messages']} messages acknowledged by the broker: "
        f"lost {f['lost']}, duplicated rows {f['duplicated']}",
        f"workers    messages per worker: {split}",
        f"capacity   {f['max_frames_per_s']:8.0f} frames/s draining {backlog} queued messages",
        f"naive      {f['naive_frames_per_s']:8.0f} frames/s, one transaction per message: "
        f"ingest capacity is {f['ratio_vs_naive']:.1f} times this floor",
        f"ceiling    {f['copy_ceiling_frames_per_s']:8.0f} frames/s, the same rows and key claims "
        f"by binary COPY in the worker's batches: ingest capacity is {f['ratio_vs_ceiling']:.2f} "
        "of this ceiling",
        f"raw COPY   {f['raw_copy_frames_per_s']:8.0f} frames/s, one COPY into a plain table, no "
        f"keys: ingest capacity is {f['ratio_vs_raw_copy']:.2f} of this",
        f"keys       claiming (device, boot, seq) in message_keys took "
        f"{100 * f['key_share_of_commit']:.0f} % of the commit time while draining",
    ]
    if "cpu_us_per_frame" in f:
        cost = ", ".join(
            f"{name} {us:.1f} µs ({f['cores_used'][name]:.2f} cores)"
            for name, us in f["cpu_us_per_frame"].items()
        )
        lines += [
            f"cpu        per frame while draining: {cost}",
            f"bounds     at these costs: {f['one_worker_core_frames_per_s']:8.0f} frames/s if "
            "each worker has one core to itself; "
            f"{f['machine_cores_frames_per_s']:.0f} frames/s if the machine's "
            f"{f['cores']} cores did nothing else; 0.70 of the raw COPY is "
            f"{0.7 * f['raw_copy_frames_per_s']:.0f}",
        ]
    typer.echo("\n".join(lines))
    if as_json:
        typer.echo(json.dumps(figures))


@app.command()
def analytics(
    days: int = typer.Option(20, min=1, help="Resident-days of the compute-only phase."),
    walking_min: float = typer.Option(
        120.0, min=0.0, help="Walking per resident-day; 0: what the simulator's routine gives."
    ),
    seed: int = typer.Option(1, min=0, help="Simulator seed."),
    e2e_days: int = typer.Option(
        40, min=0, help="Resident-days stored by ingest and computed by the runner (0: skip)."
    ),
    distinct_days: int = typer.Option(
        5, min=1, help="Days simulated and sent through ingest; the other days copy them."
    ),
    peer_days: int = typer.Option(1, min=0, help="Days each installed gait peer runs on."),
    keep_schema: bool = typer.Option(False, help="Keep the bench_analytics schema afterwards."),
    as_json: bool = typer.Option(False, "--json", help="End with the figures as one JSON line."),
) -> None:
    """Resident-day walker metrics on simulated days of about 2 h walking at 50 Hz: computed
    alone, beside published gait pipelines, and end to end from ingest's storage."""
    from stayactive.tools.bench import analytics as benchmark
    from stayactive.tools.bench import analytics_e2e
    from stayactive.tools.bench import analytics_suite as analytics_bench

    walking = walking_min or None
    e2e = None
    if e2e_days:
        e2e = analytics_e2e.EndToEndConfig(
            days=e2e_days, distinct_days=distinct_days, walking_min=walking, seed=seed,
            keep=keep_schema,
        )  # fmt: skip
    config = analytics_bench.AnalyticsBenchConfig(
        compute=benchmark.BenchConfig(days=days, walking_min=walking, seed=seed),
        end_to_end=e2e,
        peer_days=peer_days,
    )
    f = analytics_bench.run(get_settings(), config, lambda line: typer.echo(line, err=True))
    typer.echo("\n".join(_analytics_lines(f)))
    if as_json:
        typer.echo(json.dumps(f))


def _analytics_lines(f: dict[str, Any]) -> list[str]:
    lines = [
        f"processing {f['resident_days_per_s']:8.1f} resident-days/s on one core "
        f"({f['ms_per_resident_day']:.0f} ms per resident-day of "
        f"{f['walking_min_per_resident_day']:.0f} min walking, "
        f"{f['samples_per_resident_day']:,.0f} samples at 50 Hz)",
        f"generation {f['generation_resident_days_per_s']:8.1f} resident-days/s "
        "(the simulator; timed apart, not part of the analytics)",
        f"memory     peak RSS {f['peak_rss_mb']:.0f} MB after {f['days']} days, "
        f"{f['rss_after_first_day_mb']:.0f} MB after the first (simulator included); "
        f"processing one day allocates at most {f['processing_peak_mb']:.0f} MB",
        f"naive      {f['naive_resident_days_per_s']:8.2f} resident-days/s, a per-sample Python "
        f"loop (timed on a slice): processing is {f['ratio_vs_naive']:.0f} times faster",
    ]
    for name in ("mobgap", "skdh"):
        version = f.get(f"peer_{name}_version")
        if f"peer_{name}_resident_days_per_s" not in f:
            if f"peer_{name}_version" in f and version is None:
                lines.append(
                    f"peer       {name}: not installed (pip install -e '.[compare,peers]')"
                )
            continue
        lines.append(
            f"peer       {f[f'peer_{name}_resident_days_per_s']:8.3f} resident-days/s, {name} "
            f"{version} on the same {f['peer_days']} day(s): ours "
            f"({f['peer_ours_resident_days_per_s']:.1f}/s) is {f[f'ratio_vs_{name}']:,.0f} times "
            f"faster; it found {f[f'peer_{name}_bouts']} bouts and {f[f'peer_{name}_steps']} "
            f"steps, ours {f['peer_ours_bouts']} and {f['peer_ours_steps']}"
        )
    if "end_to_end_resident_days_per_s" in f:
        lines += [
            f"end to end {f['end_to_end_resident_days_per_s']:8.1f} resident-days/s, the runner "
            f"on {f['end_to_end_days']} resident-days stored by ingest "
            f"({f['end_to_end_frames_per_day']:,.0f} frames each) in "
            f"{f['end_to_end_seconds']:.1f} s",
            f"  per day  read {f['end_to_end_read_ms_per_day']:.1f} ms waited for (the reading "
            f"thread's CPU {f['end_to_end_read_cpu_ms_per_day']:.1f} ms), compute "
            f"{f['end_to_end_compute_ms_per_day']:.1f} ms (CPU "
            f"{f['end_to_end_compute_cpu_ms_per_day']:.1f} ms), write "
            f"{f['end_to_end_write_ms_per_day']:.1f} ms, rest "
            f"{f['end_to_end_other_ms_per_day']:.1f} ms; marking {f['end_to_end_mark_s']:.1f} s "
            "of the pass",
            f"  CPU      runner {f['end_to_end_cpu_s']:.1f} s, database "
            f"{f['end_to_end_server_cpu_s'] or float('nan'):.1f} s: "
            f"{f['end_to_end_resident_days_per_cpu_s']:.1f} resident-days per CPU-second",
            f"  memory   runner's peak RSS {f['end_to_end_peak_rss_mb']:.0f} MB "
            f"({f['end_to_end_rss_before_mb']:.0f} MB before its first resident-day)",
        ]
    return lines


@app.command()
def api(
    residents: int = typer.Option(200, min=8, help="Residents (with current stays)."),
    wards: int = typer.Option(8, min=1, help="Wards they are spread over."),
    days: int = typer.Option(365, min=7, max=730, help="Resident-days of history each."),
    requests: int = typer.Option(200, min=20, help="Timed calls of each kind."),
    as_json: bool = typer.Option(False, "--json", help="End with the figures as one JSON line."),
) -> None:
    """The ward overview and a resident's year of days over HTTP, against a naive baseline."""
    config = api_bench.ApiBenchConfig(
        residents=residents, wards=wards, days=days, requests=requests
    )
    f = api_bench.run(get_settings(), config, lambda line: typer.echo(line, err=True))
    lines = [
        f"ward overview  p50 {f['ward_p50_ms']:6.1f} ms  p95 {f['ward_p95_ms']:6.1f} ms "
        f"({f['residents'] // f['wards']} residents, alerts evaluated, audited; target p95 < "
        f"{f['target_p95_ms']} ms)",
        f"resident days  p50 {f['resident_p50_ms']:6.1f} ms  p95 {f['resident_p95_ms']:6.1f} ms "
        f"({days + 1} days per call)",
        f"naive          overview p95 {f['naive_ward_p95_ms']:.1f} ms, days p95 "
        f"{f['naive_resident_p95_ms']:.1f} ms (one query per figure, no HTTP): the API is "
        f"{f['ward_ratio_vs_naive']:.1f} and {f['resident_ratio_vs_naive']:.1f} times faster",
    ]
    typer.echo("\n".join(lines))
    if as_json:
        typer.echo(json.dumps(f))
