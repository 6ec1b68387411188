"""Reports for city finance and for open data, built from the stays statistics core.

:func:`build_savings_report` (finance: headline, effect, money, budget impact, design
checks, descriptive tables, sensitivity, checklist; bokmål or English) renders to JSON, CSV or
PDF; :func:`open_data` gives monthly aggregates with a data dictionary. Small cells are
suppressed before anything leaves these functions. Numbers are formatted for people by
:mod:`stayactive.locale_format` (the API and the dashboard use the same functions).
"""

from stayactive.reports.model import Headline, Row, SavingsReport, Table, TornadoOut, Value
from stayactive.reports.open_data import (
    OpenDataTable,
    build_open_data,
    dictionary_markdown,
    open_data,
    write_open_data,
)
from stayactive.reports.render import render_csv, render_json, report_to_dict
from stayactive.reports.savings import assemble_savings_report, build_savings_report

__all__ = [
    "Headline",
    "OpenDataTable",
    "Row",
    "SavingsReport",
    "Table",
    "TornadoOut",
    "Value",
    "assemble_savings_report",
    "build_open_data",
    "build_savings_report",
    "dictionary_markdown",
    "open_data",
    "render_csv",
    "render_json",
    "report_to_dict",
    "write_open_data",
]
