"""``stayactive sim …``: simulated walkers and robots on the real broker."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

import typer

from firmware_sim import scenario as runner
from firmware_sim.device import DeviceBehaviour
from firmware_sim.faults import FAULTS
from firmware_sim.pump import Pump
from firmware_sim.scenario_file import Scenario
from stayactive.settings import get_settings
from stayactive.tools.simulation import create_scenario

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
    loaded = Scenario.load(scenario)
    if encoding not in ("json", "cbor"):
        raise typer.BadParameter("encoding must be json or cbor")
    behaviour = DeviceBehaviour(
        encoding=encoding,  # type: ignore[arg-type]
        duplicate_rate=duplicates, fault_rate=faults, fault_kinds=tuple(FAULTS),
    )  # fmt: skip
    world = loaded.world()
    devices = runner.make_devices(world, behaviour)
    pump = Pump(loaded.broker_host, loaded.broker_port, devices, loaded.passwords)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def progress(stats: runner.RunStats) -> None:
        typer.echo(
            f"day {stats.days}/{loaded.days}: {stats.messages} messages, {stats.frames} frames, "
            f"{stats.faults} faults, {stats.outages} outages, {stats.reboots} reboots",
            err=True,
        )

    imperfect = runner.Imperfections(
        outages_per_day=outages_per_day, reboots_per_day=reboots_per_day
    )
    try:
        stats = runner.run(
            world, pump, imperfect=imperfect, follow=follow, truth=truth,
            progress=progress, stop=stop.is_set,
        )  # fmt: skip
    finally:
        pump.close()
    typer.echo(
        f"sent {stats.messages} messages ({stats.frames} frames) of {stats.days} days from "
        f"{len(devices)} devices; acknowledged by the broker: {len(pump.log.messages)} unique"
    )
