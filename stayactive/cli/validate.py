"""``stayactive validate …``: validation against the simulator's ground truth, from scratch."""

from __future__ import annotations

import json

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
    as_json: bool = typer.Option(False, "--json", help="End with one line of JSON."),
) -> None:
    """Coverage and bias of the savings effect estimator on simulated stays with known truth.

    For every seed: simulate device wards (arm switched on at go-live) and comparison wards
    with the simulator's resident model, estimate bed-days avoided per stay, and check the 95%
    interval against zero (no effect) and against the true effect. Exit code 1 if a criterion
    fails.
    """
    # Imported here: the simulator and scipy are only needed by this command.
    import json
    import logging

    from stayactive.tools.validation.savings import validate_savings

    # Every estimate logs its notes at INFO; over hundreds of estimates that hides the result.
    logging.getLogger("analytics.stays.effect").setLevel(logging.WARNING)

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
    if as_json:
        typer.echo(json.dumps(result.to_json(), allow_nan=False))
    if not result.passed():
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
