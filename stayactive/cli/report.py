"""``stayactive report savings | parameters | design | open-data``: finance and open data."""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo

import typer

from stayactive import db, registry
from stayactive.cli._common import day_option, write_output, writing
from stayactive.errors import ConfigurationError, InvalidParameter
from stayactive.reports.as_of import check_as_of, end_of_local_day
from stayactive.reports.savings_store import (
    change_parameters,
    choose_design,
    current_design,
    current_parameters,
    design_history,
    parameter_history,
)
from stayactive.settings import get_settings

app = typer.Typer(
    help="Savings report for city finance, its parameters, open data.", no_args_is_help=True
)


class Format(StrEnum):
    """Output formats of the savings report."""

    JSON = "json"
    CSV = "csv"
    PDF = "pdf"


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _as_of(text: str | None, time_zone: str) -> datetime:
    """Now, an ISO date-time, or a date meaning "through the end of that local day"; the
    local day must be in the range the API allows too (:func:`check_as_of`)."""
    if text is None:
        return datetime.now(UTC)
    tz = ZoneInfo(time_zone)
    try:
        if len(text.strip()) <= 10:
            day = date.fromisoformat(text.strip())
            at = end_of_local_day(day, time_zone)
        else:
            parsed = datetime.fromisoformat(text.strip())
            at = parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
            day = at.astimezone(tz).date()
    except ValueError as exc:
        raise typer.BadParameter(f"--as-of {text!r} is not a date or date-time") from exc
    try:
        check_as_of(day)
    except InvalidParameter as exc:
        raise typer.BadParameter(f"--as-of {exc}") from exc
    return at.astimezone(UTC)


@app.command()
def savings(
    tenant: str = typer.Option(..., "--tenant", help="Tenant id."),
    fmt: Format = typer.Option(Format.JSON, "--format", help="json, csv or pdf."),
    out: Path | None = typer.Option(
        None, "--out", help="Output file (default: stdout; pdf: savings-<tenant>.pdf)."
    ),
    as_of: str | None = typer.Option(None, "--as-of", help="Data as of this date or date-time."),
    language: str = typer.Option("nb", "--language", help="nb (bokmål, default) or en."),
    scenario: list[str] = typer.Option(
        [], "--scenario", help="name=value: a parameter changed for this report only (repeat)."
    ),
    resamples: int = typer.Option(
        10_000, min=100, help="Bootstrap resamples (fewer than 10,000 make the report a draft)."
    ),
    seed: int = typer.Option(1, min=0, help="Bootstrap seed (recorded in the report)."),
    by: str = typer.Option(_user(), "--by", help="Who asks (written to the audit log)."),
) -> None:
    """The finance report: headline, decisive assumptions, effect, money, budget impact 1-5
    years, design checks, descriptive tables, sensitivity, parameters and the CHEERS/ISPOR
    checklist. Small cells are suppressed."""
    from stayactive.locale_format import check_language
    from stayactive.reports import build_savings_report, render_csv, render_json

    try:
        lang = check_language(language)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    from stayactive.reports.savings import check_overrides

    overrides = {k: _number(v, k) for k, v in _pairs(scenario, "--scenario").items()}
    try:
        check_overrides(overrides)
    except InvalidParameter as exc:
        raise typer.BadParameter(f"--scenario {exc}") from exc
    with db.connect(get_settings()) as conn:
        time_zone = registry.tenant_time_zone(conn, tenant).key
        report = build_savings_report(
            conn,
            tenant,
            overrides,
            lang,
            actor=by,
            analysis_at=_as_of(as_of, time_zone),
            n_resamples=resamples,
            seed=seed,
        )
        conn.commit()
    if fmt is Format.PDF:
        from stayactive.reports.pdf import render_pdf

        path = out or Path(f"savings-{tenant}.pdf")
        write_output(path, render_pdf(report))
        typer.echo(f"wrote {path} ({report.status})")
    else:
        text = render_json(report) + "\n" if fmt is Format.JSON else render_csv(report)
        if out is None:
            sys.stdout.write(text)
        else:
            write_output(out, text)
            typer.echo(f"wrote {out} ({report.status})")
    for message in report.messages:
        typer.secho(message, err=True, fg=typer.colors.YELLOW)


def _pairs(items: list[str], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"{option} {item!r}: expected name=value")
        out[name.strip()] = value.strip()
    return out


def _number(text: str, what: str) -> float:
    try:
        # Norwegian style is accepted: decimal comma, spaces between thousands.
        cleaned = text.replace("\u00a0", "").replace(" ", "").replace("_", "")
        return float(cleaned.replace(",", "."))
    except ValueError as exc:
        raise typer.BadParameter(f"{what}: {text!r} is not a number") from exc


@app.command()
def parameters(
    tenant: str = typer.Option(..., "--tenant", help="Tenant id."),
    set_: list[str] = typer.Option([], "--set", help="name=value (repeat); makes a new version."),
    range_: list[str] = typer.Option(
        [], "--range", help="name=low:high for the sensitivity analysis (repeat)."
    ),
    source: str = typer.Option("", "--source", help="Where the new values come from."),
    as_of: str | None = typer.Option(None, "--as-of", help="Date the values refer to (today)."),
    unconfirmed: bool = typer.Option(
        False, "--unconfirmed", help="Mark new values as still needing confirmation."
    ),
    beds_closed: str | None = typer.Option(
        None, "--beds-closed", help="Record that beds are closed, with the decision's reference."
    ),
    beds_open: bool = typer.Option(False, "--beds-open", help="Record that no beds are closed."),
    note: str = typer.Option("", "--note", help="Why the change is made."),
    history: bool = typer.Option(False, "--history", help="List every stored version."),
    by: str = typer.Option(_user(), "--by", help="Who makes the change."),
) -> None:
    """Show the tenant's parameters (with sources and version); with --set/--range/--beds-*,
    store a new version (versions are never changed in place)."""
    values = {k: _number(v, k) for k, v in _pairs(set_, "--set").items()}
    ranges: dict[str, tuple[float | None, float | None]] = {}
    for name, text in _pairs(range_, "--range").items():
        low, sep, high = text.partition(":")
        if not sep:
            raise typer.BadParameter(f"--range {name}={text!r}: expected low:high")
        ranges[name] = (_number(low, name), _number(high, name))
    if beds_closed is not None and beds_open:
        raise typer.BadParameter("--beds-closed and --beds-open contradict each other")
    with db.connect(get_settings()) as conn:
        if values or ranges or beds_closed is not None or beds_open:
            stored = change_parameters(
                conn,
                tenant,
                values,
                source=source or (note if (beds_closed or beds_open) and not values else ""),
                created_by=by,
                as_of=day_option("--as-of", as_of) if as_of else None,
                ranges=ranges,
                confirmed=not unconfirmed,
                beds_closed=True if beds_closed is not None else (False if beds_open else None),
                beds_closed_note=beds_closed or "",
                note=note,
            )
            conn.commit()
            typer.echo(f"stored version {stored.version} of {tenant}'s parameters")
        else:
            stored = current_parameters(conn, tenant)
        if history:
            for version, at, who, why in parameter_history(conn, tenant):
                typer.echo(f"v{version}  {at.isoformat(timespec='minutes')}  {who}  {why}")
            return
    p = stored.parameters
    basis = (
        "built-in defaults (nothing stored yet)"
        if stored.is_default
        else (
            f"v{stored.version}, stored {stored.created_at:%Y-%m-%d %H:%M} by {stored.created_by}"
        )
    )
    typer.echo(f"parameters of {tenant}: {basis}")
    typer.echo(f"beds closed: {'yes — ' + p.beds_closed_note if p.beds_closed else 'no'}")
    for param in p.parameters():
        rng = (
            f" (range {param.low:g}-{param.high:g})"
            if param.low is not None and param.high is not None
            else ""
        )
        flag = "UNCONFIRMED" if param.needs_confirmation else "confirmed"
        typer.echo(
            f"  {param.name} = {param.value:,.6g} {param.unit}{rng}  [{flag}, as of {param.as_of}]"
        )
        typer.echo(f"      source: {param.source}")


@app.command()
def design(
    tenant: str = typer.Option(..., "--tenant", help="Tenant id."),
    set_: str | None = typer.Option(
        None, "--set", help="historical, concurrent or difference-in-differences."
    ),
    reason: str = typer.Option("", "--reason", help="Why this design (required with --set)."),
    by: str = typer.Option(_user(), "--by", help="Who chooses."),
) -> None:
    """Show or choose the tenant's evaluation design. Choose it before looking at results;
    every earlier choice stays visible."""
    with db.connect(get_settings()) as conn:
        if set_ is not None:
            try:
                choose_design(conn, tenant, set_, chosen_by=by, reason=reason)
            except ValueError as exc:
                raise ConfigurationError(
                    f"unknown design {set_!r}: use historical, concurrent or "
                    "difference-in-differences"
                ) from exc
            conn.commit()
        registry.tenant_time_zone(conn, tenant)
        choice = current_design(conn, tenant)
        if choice is None:
            typer.echo(f"{tenant} has not chosen a design; reports infer one and say so")
            return
        typer.echo(f"design of {tenant}: {choice.design.value}")
        for past in design_history(conn, tenant):
            typer.echo(
                f"  {past.chosen_at:%Y-%m-%d %H:%M}  {past.design.value:<26} "
                f"{past.chosen_by}: {past.reason}"
            )


@app.command("open-data")
def open_data_(
    tenant: str = typer.Option(..., "--tenant", help="Tenant id."),
    out: Path = typer.Option(Path("."), "--out", help="Directory for the CSV and dictionary."),
    as_of: str | None = typer.Option(None, "--as-of", help="Data as of this date or date-time."),
    by: str = typer.Option(_user(), "--by", help="Who asks (written to the audit log)."),
) -> None:
    """Monthly aggregates (stays, median LOS, bed-days, readmission rate, steps), suppressed,
    as CSV with a Markdown data dictionary."""
    from stayactive.reports import open_data, write_open_data

    with db.connect(get_settings()) as conn:
        time_zone = registry.tenant_time_zone(conn, tenant).key
        table = open_data(conn, tenant, actor=by, analysis_at=_as_of(as_of, time_zone))
        conn.commit()
    with writing(out):
        csv_path, md_path = write_open_data(table, out)
    typer.echo(f"wrote {csv_path} ({len(table.rows)} rows) and {md_path}")
