"""``stayactive validate …``: against the simulator's ground truth and against real recordings."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import typer

app = typer.Typer(
    help="Validate analytics against simulated ground truth; print measured errors.",
    no_args_is_help=True,
)


@app.command("savings")
def savings(
    seeds: int = typer.Option(100, "--seeds", min=1, help="Number of seeds (data sets)."),
    first_seed: int = typer.Option(0, "--first-seed", min=0, help="Seeds run from this one."),
    effect: float = typer.Option(1.0, "--effect", min=0.01, help="The known simulator effect."),
    design: list[str] = typer.Option(
        ["concurrent", "historical", "difference-in-differences"],
        "--design",
        help="Design(s) to check; repeat the option for several.",
    ),
    stays_per_group: int = typer.Option(
        800, "--stays-per-group", min=50, help="Admissions per ward group and period."
    ),
    resamples: int = typer.Option(1000, "--resamples", min=100, help="Bootstrap resamples."),
    scenario: list[str] = typer.Option(
        [], "--scenario", help="Only these failure scenarios (repeat); default all."
    ),
    scenarios: bool = typer.Option(
        True, "--scenarios/--no-scenarios", help="Run the failure scenarios and the money check."
    ),
    jobs: int = typer.Option(
        2, "--jobs", min=1, help="Worker processes for the failure scenarios (seeds in parallel)."
    ),
    as_json: bool = typer.Option(False, "--json", help="End with one line of JSON."),
) -> None:
    """Coverage and bias of the savings effect estimator on simulated stays with known truth.

    For every seed: simulate device wards (arm switched on at go-live) and comparison wards
    with the simulator's resident model, estimate bed-days avoided per stay, and check the 95%
    interval against zero (no effect) and against the true effect. Then the failure scenarios
    (confounding, trend, long stays, ward effects, a new comparison ward: each design must
    recover the truth, or be flagged, as the scenario expects) and the money layer against a
    simulated municipality. Exit code 1 if a criterion fails.
    """
    # Imported here: the simulator and scipy are only needed by this command.
    import json
    import logging

    from stayactive.tools.validation.savings import validate_savings

    # Every estimate logs its notes at INFO; over hundreds of estimates that hides the result.
    logging.getLogger("analytics.stays.effect").setLevel(logging.WARNING)
    logging.getLogger("stayactive.tools.validation.scenarios").setLevel(logging.WARNING)

    seed_list = list(range(first_seed, first_seed + seeds))

    def progress(done: int, total: int) -> None:
        if done % 10 == 0 or done == total:
            typer.echo(f"  {done}/{total} seeds", err=True)

    result = validate_savings(
        seed_list,
        effect=effect,
        designs=design,
        stays_per_group=stays_per_group,
        n_resamples=resamples,
        progress=progress,
    )
    truth = result.truth
    typer.echo(
        f"seeds {seed_list[0]}..{seed_list[-1]} ({len(seed_list)}), {stays_per_group} stays "
        f"per ward group and period of {result.period_days} days, {resamples} resamples"
    )
    typer.echo(
        f"truth at effect {effect:g}: {truth.bed_days_avoided_per_stay:.3f} bed-days avoided "
        f"per stay (Monte Carlo SE {truth.bed_days_se:.3f}; {truth.n_pairs:,} paired stays); "
        f"readmissions avoided per stay {truth.readmissions_avoided_per_stay:+.4f}"
    )
    typer.echo(
        f"{'design':<26} {'effect':>6} {'truth':>7} {'coverage':>8} {'mean est':>8} "
        f"{'bias':>7} {'rel bias':>8} {'MC SE':>6} {'CI width':>8} {'readm cov':>9}  result"
    )
    for s in result.scenarios:
        rel = "—" if s.is_null else f"{s.relative_bias:+.1%}"
        typer.echo(
            f"{s.design:<26} {s.effect:>6g} {s.truth:>7.3f} {s.coverage:>8.0%} "
            f"{s.mean_estimate:>8.3f} {s.bias:>+7.3f} {rel:>8} {s.mc_se:>6.3f} "
            f"{s.mean_interval_width:>8.2f} {s.readmission_coverage:>9.0%}  "
            + ("pass" if s.passed() else "FAIL")
            + (f" ({len(s.failed_seeds)} seeds without an estimate)" if s.failed_seeds else "")
        )
    typer.echo(
        f"null coverage {result.null_coverage:.0%} (≥ 90% needed), effect coverage "
        f"{result.effect_coverage:.0%} (≥ 90%), worst relative bias {result.effect_bias:+.1%} "
        f"(< 10%); {result.elapsed_s:.0f} s"
    )
    out = result.to_json()
    passed = result.passed()
    rows = list(out.pop("scenarios"))
    if scenarios:
        from stayactive.tools.validation.scenarios import run_money_check, run_scenarios

        names = scenario or None
        found, truths = run_scenarios(
            seed_list, effect=effect, n_resamples=resamples, names=names, jobs=jobs,
            progress=progress,
        )  # fmt: skip
        typer.echo(
            f"{'scenario':<20} {'design':<26} {'expect':<8} {'truth':>6} {'coverage (95% CI)':>19} "
            f"{'rel bias':>8} {'spread/CI':>9} {'flagged':>7} {'silent':>6}  result"
        )
        for r in found:
            cov = (
                "—"
                if r.n_estimated == 0
                else f"{r.coverage:.0%} ({r.coverage_low:.0%}-{r.coverage_high:.0%})"
            )
            rel = "—" if r.n_estimated == 0 else f"{r.relative_bias:+.1%}"
            ratio = "—" if r.n_estimated < 2 else f"{r.spread_to_interval:.2f}"
            typer.echo(
                f"{r.scenario:<20} {r.design:<26} {r.expectation:<8} {r.truth:>6.3f} {cov:>19} "
                f"{rel:>8} {ratio:>9} {r.flagged:>7.0%} {r.silent_miss:>6.0%}  "
                + ("pass" if r.passed() else "FAIL")
            )
        money = run_money_check(seed_list, effect=effect, n_resamples=resamples)
        typer.echo(
            f"money check: capacity value NOK {money.truth_capacity_value_nok:,.0f}/year, "
            f"coverage {money.coverage:.0%} ({money.coverage_low:.0%}-{money.coverage_high:.0%}), "
            f"relative bias {money.relative_bias:+.1%}  " + ("pass" if money.passed() else "FAIL")
        )
        rows += [r.summary() for r in found]
        rows.append({"scenario": "money", "design": "difference-in-differences", **money.summary()})
        out["scenario_truths"] = {k: t.bed_days_avoided_per_stay for k, t in truths.items()}
        passed = passed and all(r.passed() for r in found) and money.passed()
    out["passed"] = passed
    out["scenarios"] = rows
    if as_json:
        from stayactive.tools.validation._figures import json_ready

        typer.echo(json.dumps(json_ready(out), allow_nan=False))
    if not passed:
        raise typer.Exit(1)


@app.command()
def analytics(
    seeds: int = typer.Option(3, min=1, help="Simulated wards (one resident per gait speed)."),
    first_seed: int = typer.Option(1, min=0, help="Seed of the first ward."),
    days: int = typer.Option(1, min=1, help="Days per resident."),
    as_json: bool = typer.Option(False, "--json", help="End with the errors as one JSON line."),
) -> None:
    """Mobility metrics (walker and robot) against the simulator's truth, 0.2-1.0 m/s."""
    from stayactive.tools.validation import analytics as validation

    seed_list = list(range(first_seed, first_seed + seeds))
    report = validation.validate(
        seed_list, days_per_resident=days, progress=lambda line: typer.echo(line, err=True)
    )
    speeds = validation.SPEEDS_MPS
    lines = [
        f"{report.metric_version}: seeds {seed_list[0]}-{seed_list[-1]}, "
        f"{report.resident_days} resident-days, usual gait speeds "
        f"{min(speeds):.1f}-{max(speeds):.1f} m/s",
        f"{'metric':24s} {'error':>9s} {'bound':>7s}  passed  unit / detail",
    ]
    for c in report.checks:
        lines.append(
            f"{c.name:24s} {c.error:9.4f} {c.bound:7.3f}  {'yes' if c.passed else 'NO':6s}  "
            f"{c.unit}: {c.detail}"
        )
    for name, value in report.info.items():
        lines.append(f"{name:24s} {value:9.4f}  (information, no bound)")
    typer.echo("\n".join(lines))
    if as_json:
        typer.echo(json.dumps(report.as_json()))
    if not report.passed:
        raise typer.Exit(code=1)


@app.command()
def gait(
    data: Path = typer.Option(..., "--data", help="Folder of .npz recordings with ref_ic_s."),
    tolerance_s: float = typer.Option(0.25, "--tolerance-s", min=0.01, help="Match tolerance."),
    compare: list[str] = typer.Option([], "--compare", help="Also run: mobgap (IcdIonescu)."),
    region: str = typer.Option("span", "--region", help="Scored region: span or bouts."),
    loso: bool = typer.Option(False, "--loso", help="Also leave-one-subject-out."),
    as_json: bool = typer.Option(False, "--json", help="End with the figures as one JSON line."),
) -> None:
    """Step detection on real recordings against their reference steps (docs/metrics.md).

    Prints per recording and pooled (all, healthy, impaired) sensitivity, PPV, F1, step-count
    and cadence error and the median timing offset. Exit code 1 if a file could not be read.
    """
    from stayactive.tools.validation import gait_report

    try:
        run = gait_report.run_gait(
            data, tolerance_s=tolerance_s, compare=compare, region=region, loso=loso
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    typer.echo(gait_report.text(run))
    if as_json:
        typer.echo(json.dumps(gait_report.as_json(run)))
    if run.skipped:
        raise typer.Exit(code=1)


@app.command()
def field(
    recordings: Path = typer.Option(..., "--recordings", help="Folder of .npz recordings."),
    counts: Path = typer.Option(..., "--counts", help="CSV of hand-counted trials."),
    as_json: bool = typer.Option(False, "--json", help="End with the figures as one JSON line."),
) -> None:
    """Device steps and distance against hand counts per trial, Bland-Altman limits.

    The protocol and the file formats are in docs/metrics.md ("Field validation"). Exit code
    1 if a trial was rejected (listed with its reason; the others still count).
    """
    from stayactive.tools.validation import field as fv

    report = fv.validate_field(recordings, fv.parse_counts(counts))
    typer.echo(fv.text(report))
    if as_json:
        typer.echo(json.dumps(report.as_json()))
    if report.rejected:
        raise typer.Exit(code=1)


@app.command("export")
def export(
    device: str = typer.Option(..., "--device", help="Walker device id."),
    start: datetime = typer.Option(..., "--from", help="Start, ISO 8601 with offset."),
    end: datetime = typer.Option(..., "--to", help="End (exclusive), ISO 8601 with offset."),
    out: Path = typer.Option(..., "--out", help="Recording file to write (.npz)."),
) -> None:
    """Export a walker's stored frames for a time range as a field-kit recording."""
    from stayactive import db
    from stayactive.settings import get_settings
    from stayactive.tools.validation.recording_export import export_recording

    with db.connect(get_settings()) as conn:
        n = export_recording(conn, device, start, end, out)
    typer.echo(f"{out}: {n} samples of {device}")
