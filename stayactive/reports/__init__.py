"""Reports for city finance and for open data, built from the stays statistics core.

:func:`savings_report` (finance: design, balance, LOS, destinations, readmissions, effect, money,
sensitivity) renders to JSON, CSV or PDF; :func:`open_data` gives monthly aggregates with a data
dictionary. Small cells are suppressed before anything leaves these functions.
"""

from stayactive.reports.model import Row, SavingsReport, Table, TornadoOut, Value
from stayactive.reports.open_data import (
    OpenDataTable,
    build_open_data,
    dictionary_markdown,
    open_data,
    write_open_data,
)
from stayactive.reports.render import render_csv, render_json, report_to_dict
from stayactive.reports.savings import build_savings_report, savings_report

__all__ = [
    "OpenDataTable",
    "Row",
    "SavingsReport",
    "Table",
    "TornadoOut",
    "Value",
    "build_open_data",
    "build_savings_report",
    "dictionary_markdown",
    "open_data",
    "render_csv",
    "render_json",
    "report_to_dict",
    "savings_report",
    "write_open_data",
]
