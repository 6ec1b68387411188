"""`stayactive run`: the supervisor of a machine's StayActive processes.

It starts each process of a list of :class:`ProcessSpec` (ingest, analytics in follow mode, the
API, the dashboard: :func:`service_processes`), restarts a crashed one with capped exponential
back-off (:class:`RestartPolicy`), writes each one's output to a rotated log file, stops them
all in reverse order on SIGINT/SIGTERM. One that keeps crashing is reported and restarted at
the longest wait for as long as it takes (an outage of the database looks the same).
The demo runs the same supervisor with one more process (the simulated devices).
``deploy/systemd`` runs the same list under systemd (:func:`systemd_units`).
"""

from stayactive.supervisor._logs import rotated_log
from stayactive.supervisor._processes import (
    dashboard_url,
    refuse_busy_ports,
    service_processes,
    systemd_processes,
)
from stayactive.supervisor._spec import ProcessSpec, RestartPolicy, stayactive_command
from stayactive.supervisor._supervisor import (
    ProcessState,
    Supervisor,
    read_state,
)
from stayactive.supervisor._systemd import UnitOptions, systemd_units, write_units

__all__ = [
    "ProcessSpec",
    "ProcessState",
    "RestartPolicy",
    "Supervisor",
    "UnitOptions",
    "dashboard_url",
    "read_state",
    "refuse_busy_ports",
    "rotated_log",
    "service_processes",
    "stayactive_command",
    "systemd_processes",
    "systemd_units",
    "write_units",
]
