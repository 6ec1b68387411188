"""Storing a tenant's savings parameters and evaluation design: versioned, never updated in place.

A parameter set is written as a new version (``savings_parameter_sets`` + one row per parameter
in ``savings_parameters``); the tables refuse UPDATE and DELETE. The values are validated by
:class:`analytics.stays.ParameterSet` before anything is written, so a negative cost is refused
with the same clear :class:`~stayactive.errors.InvalidParameter` message everywhere; the table's
CHECK constraints are only the last line of defence.

The evaluation design (historical, concurrent or difference-in-differences) is chosen per tenant
in ``savings_designs``; the newest choice is in force and older ones stay visible.

Every change is also written to the audit log (:mod:`stayactive.audit`).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.rows import TupleRow

from analytics.stays import Design, Parameter, ParameterSet, default_parameters
from analytics.stays.parameters import PARAMETER_UNITS
from stayactive import audit, registry
from stayactive.errors import ConfigurationError, InvalidParameter

logger = logging.getLogger(__name__)

_Conn = psycopg.Connection[TupleRow]


@dataclass(frozen=True)
class StoredParameterSet:
    """A tenant's parameter set as stored, or the defaults when nothing is stored yet.

    Attributes
    ----------
    parameters
        The validated set; its ``version`` is ``"v<n>"`` (or the defaults' name).
    version
        The stored version number, None for the built-in defaults.
    created_at, created_by, note
        Who stored it, when and why (None/"" for the defaults).
    """

    parameters: ParameterSet
    version: int | None
    created_at: datetime | None
    created_by: str
    note: str

    @property
    def is_default(self) -> bool:
        """True when the tenant has stored no parameters and the defaults apply."""
        return self.version is None


@dataclass(frozen=True)
class DesignChoice:
    """The evaluation design a tenant chose, with who chose it, when and why."""

    design: Design
    chosen_at: datetime
    chosen_by: str
    reason: str


def current_parameters(conn: _Conn, tenant: str) -> StoredParameterSet:
    """The newest stored parameter set of ``tenant``, or the defaults if none is stored."""
    registry.tenant_time_zone(conn, tenant)
    row = conn.execute(
        "SELECT max(version) FROM savings_parameter_sets WHERE tenant_id = %s", (tenant,)
    ).fetchone()
    if row is None or row[0] is None:
        return StoredParameterSet(default_parameters(tenant), None, None, "", "")
    return parameter_set(conn, tenant, int(row[0]))


def parameter_set(conn: _Conn, tenant: str, version: int) -> StoredParameterSet:
    """Stored version ``version`` of the tenant's parameters."""
    head = conn.execute(
        """SELECT created_at, created_by, note, beds_closed, beds_closed_note
           FROM savings_parameter_sets WHERE tenant_id = %s AND version = %s""",
        (tenant, version),
    ).fetchone()
    if head is None:
        raise ConfigurationError(f"tenant {tenant!r} has no parameter set version {version}")
    created_at, created_by, note, beds_closed, beds_closed_note = head
    rows = conn.execute(
        """SELECT name, value, unit, source, as_of, low, high, needs_confirmation
           FROM savings_parameters WHERE tenant_id = %s AND version = %s""",
        (tenant, version),
    ).fetchall()
    params = {
        str(name): Parameter(str(name), float(value), str(unit), str(source), as_of, low, high, nc)
        for name, value, unit, source, as_of, low, high, nc in rows
    }
    # A set stored before a parameter existed (the money model grew in issue 13) takes that
    # parameter's default, still marked unconfirmed; names the model no longer has (such as
    # readmission_cost_nok) are ignored. The report lists every unconfirmed parameter.
    missing = [name for name in PARAMETER_UNITS if name not in params]
    if missing:
        logger.warning(
            "parameter set v%d of %s has no %s: defaults used", version, tenant, ", ".join(missing)
        )
        defaults = default_parameters(tenant)
        params.update({name: getattr(defaults, name) for name in missing})
    fields: dict[str, Any] = {name: params[name] for name in PARAMETER_UNITS}
    parameters = ParameterSet(
        tenant=tenant,
        version=f"v{version}",
        beds_closed=bool(beds_closed),
        beds_closed_note=str(beds_closed_note),
        **fields,
    )
    return StoredParameterSet(parameters, version, created_at, str(created_by), str(note))


def parameter_history(conn: _Conn, tenant: str) -> list[tuple[int, datetime, str, str]]:
    """Every stored version of the tenant's parameters: (version, created_at, by, note)."""
    rows = conn.execute(
        """SELECT version, created_at, created_by, note FROM savings_parameter_sets
           WHERE tenant_id = %s ORDER BY version""",
        (tenant,),
    ).fetchall()
    return [(int(v), at, str(by), str(note)) for v, at, by, note in rows]


def store_parameter_set(
    conn: _Conn, parameters: ParameterSet, *, created_by: str, note: str = ""
) -> StoredParameterSet:
    """Write ``parameters`` as the tenant's next version and return it as stored.

    The set was validated when it was built (negative costs and the like never get here); the
    version number is taken under a per-tenant lock so two writers cannot collide.
    """
    tenant = parameters.tenant
    if not created_by.strip():
        raise ConfigurationError("a parameter set needs created_by (who made the change)")
    with conn.transaction():
        registry.tenant_time_zone(conn, tenant)
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"savings-params:{tenant}",))
        row = conn.execute(
            "SELECT coalesce(max(version), 0) + 1 FROM savings_parameter_sets WHERE tenant_id = %s",
            (tenant,),
        ).fetchone()
        assert row is not None
        version = int(row[0])
        conn.execute(
            """INSERT INTO savings_parameter_sets
                   (tenant_id, version, created_by, note, beds_closed, beds_closed_note)
               VALUES (%s, %s, %s, %s, %s, %s)""",
            (
                tenant,
                version,
                created_by,
                note,
                parameters.beds_closed,
                parameters.beds_closed_note,
            ),
        )
        with conn.cursor() as cur:
            cur.executemany(
                """INSERT INTO savings_parameters (tenant_id, version, name, value, unit, source,
                       as_of, low, high, needs_confirmation)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                [
                    (
                        tenant,
                        version,
                        p.name,
                        p.value,
                        p.unit,
                        p.source,
                        p.as_of,
                        p.low,
                        p.high,
                        p.needs_confirmation,
                    )
                    for p in parameters.parameters()
                ],
            )
        audit.record(
            conn,
            tenant=tenant,
            actor=created_by,
            action="savings.parameters.new_version",
            subject_kind="savings_parameter_set",
            subject_id=f"v{version}",
            purpose="evaluation",
            detail={"note": note, "values": parameters.values()},
        )
    logger.info("stored parameter set v%d of %s", version, tenant)
    return parameter_set(conn, tenant, version)


def change_parameters(
    conn: _Conn,
    tenant: str,
    values: Mapping[str, float],
    *,
    source: str,
    created_by: str,
    as_of: date | None = None,
    ranges: Mapping[str, tuple[float | None, float | None]] | None = None,
    confirmed: bool = True,
    beds_closed: bool | None = None,
    beds_closed_note: str = "",
    note: str = "",
) -> StoredParameterSet:
    """A new version of the tenant's parameters with some values (and ranges) changed.

    Parameters
    ----------
    values
        New base values by parameter name (e.g. ``{"cost_per_bed_day_nok": 3100}``).
    source
        Where the new values come from; required, it is shown next to every figure.
    created_by
        Who makes the change.
    as_of
        The date the new values refer to (default today).
    ranges
        New (low, high) per name for the sensitivity analysis. A changed value keeps its old
        range only if the range still contains it; otherwise the range is dropped (the
        tornado then uses ±25 % for core inputs) and the log says so.
    confirmed
        The new values are confirmed figures (``needs_confirmation`` false), the default.
    beds_closed, beds_closed_note
        Record that beds are closed (savings become cash-releasing), with the decision's
        reference; ``False`` records that they are not; None leaves it as it was.
    note
        Why the change was made.

    Raises
    ------
    InvalidParameter
        An unknown name, a value out of range (negative cost, share above 1, ...), or no source.
    """
    if not source.strip():
        raise InvalidParameter(
            "source", "a changed parameter needs --source saying where it is from"
        )
    ranges = dict(ranges or {})
    for name in (*values, *ranges):
        if name not in PARAMETER_UNITS:
            raise InvalidParameter(
                name, f"unknown parameter {name!r}; known: {', '.join(PARAMETER_UNITS)}"
            )
    base = current_parameters(conn, tenant).parameters
    when = as_of or date.today()
    replaced: dict[str, Parameter] = {}
    for name in PARAMETER_UNITS:
        old: Parameter = getattr(base, name)
        if name not in values and name not in ranges:
            continue
        value = float(values.get(name, old.value))
        if not math.isfinite(value):
            raise InvalidParameter(name, f"{name} must be a finite number, got {value}")
        low, high = ranges.get(name, (old.low, old.high))
        if name not in ranges and not _inside(value, low, high):
            logger.warning(
                "%s: the old range %s-%s does not contain %g; range dropped", name, low, high, value
            )
            low = high = None
        changed_value = name in values
        replaced[name] = dataclasses.replace(
            old,
            value=value,
            low=low,
            high=high,
            source=source if changed_value else old.source,
            as_of=when if changed_value else old.as_of,
            needs_confirmation=(not confirmed) if changed_value else old.needs_confirmation,
        )
    closed = base.beds_closed if beds_closed is None else beds_closed
    closed_note = (
        beds_closed_note if beds_closed else ("" if beds_closed is False else base.beds_closed_note)
    )
    fields: dict[str, Any] = {
        name: replaced.get(name, getattr(base, name)) for name in PARAMETER_UNITS
    }
    # Built (and so validated) before anything is written.
    new = ParameterSet(
        tenant=tenant,
        version="new",
        beds_closed=closed,
        beds_closed_note=closed_note,
        **fields,
    )
    return store_parameter_set(conn, new, created_by=created_by, note=note)


def _inside(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or low <= value) and (high is None or value <= high)


def choose_design(
    conn: _Conn, tenant: str, design: Design | str, *, chosen_by: str, reason: str
) -> DesignChoice:
    """Record the tenant's evaluation design (the newest choice is in force)."""
    chosen = Design(design)
    if not reason.strip() or not chosen_by.strip():
        raise ConfigurationError("choosing a design needs who chooses it and why (--reason)")
    with conn.transaction():
        registry.tenant_time_zone(conn, tenant)
        conn.execute(
            """INSERT INTO savings_designs (tenant_id, design, chosen_by, reason)
               VALUES (%s, %s, %s, %s)""",
            (tenant, chosen.value, chosen_by, reason),
        )
        audit.record(
            conn,
            tenant=tenant,
            actor=chosen_by,
            action="savings.design.choose",
            subject_kind="tenant",
            subject_id=tenant,
            purpose="evaluation",
            detail={"design": chosen.value, "reason": reason},
        )
    choice = current_design(conn, tenant)
    assert choice is not None
    return choice


def current_design(conn: _Conn, tenant: str) -> DesignChoice | None:
    """The design in force for ``tenant``, None if it has not chosen one."""
    row = conn.execute(
        """SELECT design, chosen_at, chosen_by, reason FROM savings_designs
           WHERE tenant_id = %s ORDER BY chosen_at DESC, design_choice_id DESC LIMIT 1""",
        (tenant,),
    ).fetchone()
    if row is None:
        return None
    return DesignChoice(Design(row[0]), row[1], str(row[2]), str(row[3]))


def first_savings_report_at(conn: _Conn, tenant: str) -> datetime | None:
    """When a savings report with an effect estimate was first made for ``tenant`` (from the
    audit log), so a report can tell whether its design was chosen before anyone saw one."""
    row = conn.execute(
        """SELECT min(at) FROM audit_log
           WHERE tenant_id = %s AND action = 'report.savings' AND detail->>'status' = 'complete'""",
        (tenant,),
    ).fetchone()
    return row[0] if row else None


def design_history(conn: _Conn, tenant: str) -> list[DesignChoice]:
    """Every design choice of the tenant, oldest first."""
    rows = conn.execute(
        """SELECT design, chosen_at, chosen_by, reason FROM savings_designs
           WHERE tenant_id = %s ORDER BY chosen_at, design_choice_id""",
        (tenant,),
    ).fetchall()
    return [DesignChoice(Design(d), at, str(by), str(r)) for d, at, by, r in rows]
