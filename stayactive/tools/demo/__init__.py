"""The demo: Stavanger's short-term wards on simulated devices, the whole system live.

:func:`run_demo` is ``stayactive demo`` (phases in :mod:`._run`); :func:`run_fleet` is the
simulated devices' process (``stayactive demo devices``); :func:`reset` starts clean. The
demo's state lives with the services: a database schema of its own (``STAYACTIVE_DEMO_SCHEMA``)
and ``DATA_DIR/demo/`` (:mod:`._state`).
"""

from stayactive.tools.demo._config import TENANT, USERS, WARDS, DemoConfig, DemoUser
from stayactive.tools.demo._fleet import run_fleet
from stayactive.tools.demo._provision import demo_settings
from stayactive.tools.demo._reset import reset
from stayactive.tools.demo._run import DemoReport, demo_processes, run_demo
from stayactive.tools.demo._state import DemoFiles, FleetCheckpoint, demo_files, load_logins

__all__ = [
    "TENANT",
    "USERS",
    "WARDS",
    "DemoConfig",
    "DemoFiles",
    "DemoReport",
    "DemoUser",
    "FleetCheckpoint",
    "demo_files",
    "demo_processes",
    "demo_settings",
    "load_logins",
    "reset",
    "run_demo",
    "run_fleet",
]
