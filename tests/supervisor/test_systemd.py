"""deploy/systemd is what `stayactive run --write-systemd` writes, and systemd accepts it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from stayactive import supervisor
from stayactive.settings import Settings
from stayactive.supervisor import UnitOptions

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "systemd"


def test_the_committed_units_are_the_generated_ones() -> None:
    units = supervisor.systemd_units(supervisor.systemd_processes(), UnitOptions())
    committed = {p.name: p.read_text() for p in DEPLOY.iterdir()}
    assert committed == units, "run `stayactive run --write-systemd deploy/systemd`"


def test_one_unit_per_supervised_process_running_the_same_command() -> None:
    specs = supervisor.systemd_processes()
    units = supervisor.systemd_units(specs, UnitOptions())
    jobs = {"stayactive-maintain.service", "stayactive-maintain.timer"}
    processes = {"stayactive-ingest@.service"} | {
        f"stayactive-{name}.service" for name in ("analytics", "api", "dashboard")
    }
    assert set(units) == processes | jobs | {"stayactive.target"}
    assert [s.name for s in specs] == ["ingest", "analytics", "api", "dashboard"]
    # Ingest is a template: stayactive-ingest@2 is a second worker with an id and settings of
    # its own (its metrics port in /etc/stayactive/ingest-2.env).
    ingest = units["stayactive-ingest@.service"]
    assert "ExecStart=/opt/stayactive/.venv/bin/stayactive ingest run --worker-id ingest-%H-%i" in (
        ingest
    )
    assert "EnvironmentFile=-/etc/stayactive/ingest-%i.env" in ingest
    assert "DefaultInstance=1" in ingest
    assert (
        "ExecStart=/opt/stayactive/.venv/bin/stayactive dashboard\n"
        in (units["stayactive-dashboard.service"])
    )
    for name in units:
        if name.endswith(".service"):
            text = units[name]
            assert "NoNewPrivileges=yes" in text and "ProtectSystem=strict" in text
            assert "ProtectProc=invisible" in text
            if name == "stayactive-dashboard.service":
                continue
            assert "User=stayactive\n" in text and "ReadWritePaths=/var/lib/stayactive" in text
            assert "EnvironmentFile=/etc/stayactive/stayactive.env" in text
    # The dashboard holds no secret: a user of its own (so neither the shared settings file
    # nor the other units' /proc/PID/environ is readable to it), a settings file of its own,
    # no view of the data directory (the secrets folder) or the shared settings, and no
    # working directory whose `.env` it would read.
    dashboard = units["stayactive-dashboard.service"]
    assert "DynamicUser=yes\nUser=stayactive-dashboard\n" in dashboard
    assert "User=stayactive\n" not in dashboard and "Group=stayactive" not in dashboard
    assert "EnvironmentFile=-/etc/stayactive/dashboard.env" in dashboard
    assert "EnvironmentFile=/etc/stayactive/stayactive.env" not in dashboard
    assert "STAYACTIVE_DATA_DIR" not in dashboard and "ReadWritePaths" not in dashboard
    assert "InaccessiblePaths=-/var/lib/stayactive -/etc/stayactive/stayactive.env" in dashboard
    assert "WorkingDirectory=/tmp\n" in dashboard
    target = units["stayactive.target"]
    started = {name.replace("@.", "@1.") for name in processes}
    assert all(name in target for name in started) and "stayactive-maintain.timer" in target
    # The maintenance job runs once a day and is not restarted like a process.
    maintain = units["stayactive-maintain.service"]
    assert "Type=oneshot" in maintain and "Restart=" not in maintain
    assert "ExecStart=/opt/stayactive/.venv/bin/stayactive db maintain" in maintain
    assert "OnCalendar=*-*-* 03:30:00" in units["stayactive-maintain.timer"]


def test_systemd_accepts_the_units_and_rates_them_well_protected(tmp_path: Path) -> None:
    # Installed where this checkout is, so that systemd finds the command it runs.
    options = UnitOptions(prefix=ROOT, user="root")
    paths = supervisor.write_units(tmp_path, supervisor.systemd_processes(), options)
    verify = subprocess.run(
        ["systemd-analyze", "verify", *map(str, paths)], capture_output=True, text=True
    )
    assert verify.returncode == 0 and not verify.stderr.strip(), verify.stderr
    assert any(p.suffix == ".timer" for p in paths)
    for path in paths:
        if path.suffix != ".service":
            continue
        report = subprocess.run(
            ["systemd-analyze", "security", "--offline=yes", str(path)],
            capture_output=True, text=True,
        )  # fmt: skip
        match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", report.stdout)
        assert match is not None, report.stdout[-500:]
        assert float(match.group(1)) < 3.0, f"{path.name}: exposure {match.group(1)}"


def test_the_dashboard_runs_as_a_process_of_its_own_ready_on_streamlits_health() -> None:
    settings = Settings.model_construct()
    specs = supervisor.service_processes(settings, worker_id="w")
    assert [s.name for s in specs] == ["ingest", "analytics", "api", "dashboard"]
    dashboard = specs[-1]
    assert dashboard.argv[-1] == "dashboard"
    # Ready when Streamlit's own health endpoint answers, on the dashboard's port.
    assert dashboard.health_url == "http://127.0.0.1:8501/_stcore/health"
    bound_everywhere = Settings.model_construct(dashboard_host="0.0.0.0", dashboard_port=9999)
    assert supervisor.dashboard_url(bound_everywhere) == "http://127.0.0.1:9999"
