"""``stayactive sim …``: simulated walkers and robots on the real broker."""

from __future__ import annotations

from pathlib import Path

import typer

from stayactive.cli._common import stop_on_signals
from stayactive.errors import ConfigurationError
from stayactive.settings import get_settings
from stayactive.tools.simulation import RunOptions, create_scenario, run_scenario

app = typer.Typer(help="Simulated devices speaking the wire protocol.", no_args_is_help=True)

DEFAULT_SCENARIO = Path("var/sim/scenario.json")


@app.command()
def provision(
    scenario: Path = typer.Option(DEFAULT_SCENARIO, help="Where to write the scenario file."),
    tenant: str = typer.Option("stavanger", help="Tenant the devices belong to."),
    days: int = typer.Option(14, min=1, help="Length of the simulated period, ending today."),
    stays: int = typer.Option(40, min=1, help="Admissions over the period."),
    wards: str = typer.Option("stv-korttid-1,stv-korttid-2", help="Comma-separated ward names."),
    walkers_per_ward: int = typer.Option(6, min=1),
    seed: int = typer.Option(1),
    effect: float = typer.Option(0.5, min=0, help="How much device use speeds recovery."),
) -> None:
    """Register the simulated wards and devices and issue their broker credentials."""
    created = create_scenario(
        get_settings(), scenario, tenant=tenant, days=days, n_stays=stays, seed=seed,
        effect=effect, wards=tuple(w.strip() for w in wards.split(",") if w.strip()),
        walkers_per_ward=walkers_per_ward,
    )  # fmt: skip
    typer.echo(f"{len(created.passwords)} devices provisioned; scenario in {scenario}")


@app.command()
def run(
    scenario: Path = typer.Option(DEFAULT_SCENARIO, help="Scenario file from `sim provision`."),
    follow: bool = typer.Option(
        False, help="After the history up to now, go on in real time to the end of the period."
    ),
    truth: Path | None = typer.Option(None, help="Write the ground truth here (JSON Lines)."),
    encoding: str = typer.Option("json", help="json or cbor."),
    duplicates: float = typer.Option(0.01, min=0, max=1, help="Share of messages sent twice."),
    faults: float = typer.Option(0.0, min=0, max=1, help="Share of messages replaced by a fault."),
    outages_per_day: float = typer.Option(0.3, min=0, help="Connectivity gaps per device-day."),
    reboots_per_day: float = typer.Option(0.05, min=0, help="Reboots per device-day."),
) -> None:
    """Send the scenario's days through the broker; progress per simulated day."""
    options = RunOptions(
        encoding=encoding, duplicate_rate=duplicates, fault_rate=faults,
        outages_per_day=outages_per_day, reboots_per_day=reboots_per_day, follow=follow,
        truth=truth,
    )  # fmt: skip
    stop = stop_on_signals("the devices stop")
    try:
        done = run_scenario(
            scenario, options, say=lambda line: typer.echo(line, err=True), stop=stop.is_set
        )
    except ConfigurationError as exc:
        raise typer.BadParameter(str(exc)) from exc
    typer.echo(done.summary())
