"""Versioned parameter sets and design choices per tenant, in the database."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest
from psycopg.rows import TupleRow

from analytics.stays import Design, default_parameters
from stayactive import registry
from stayactive.errors import ConfigurationError, InvalidParameter
from stayactive.reports.savings_store import (
    change_parameters,
    choose_design,
    current_design,
    current_parameters,
    design_history,
    parameter_history,
    parameter_set,
    store_parameter_set,
)


@pytest.fixture
def tenant(conn: psycopg.Connection[TupleRow]) -> str:
    registry.ensure_tenant(conn, "stavanger", "Stavanger kommune")
    return "stavanger"


def test_defaults_until_something_is_stored(
    conn: psycopg.Connection[TupleRow], tenant: str
) -> None:
    stored = current_parameters(conn, tenant)
    assert stored.is_default
    assert stored.parameters.values() == default_parameters(tenant).values()
    with pytest.raises(ConfigurationError, match="unknown tenant"):
        current_parameters(conn, "nowhere")


def test_every_change_is_a_new_version_and_old_versions_stay(
    conn: psycopg.Connection[TupleRow], tenant: str
) -> None:
    v1 = change_parameters(
        conn,
        tenant,
        {"cost_per_bed_day_nok": 3100.0},
        source="KOSTRA 2025, Stavanger, net cost per oppholdsdøgn (checked by finance)",
        created_by="finance-1",
        as_of=date(2026, 6, 1),
        note="confirmed day cost",
    )
    assert v1.version == 1 and v1.parameters.version == "v1"
    day = v1.parameters.cost_per_bed_day_nok
    assert (day.value, day.as_of, day.needs_confirmation) == (3100.0, date(2026, 6, 1), False)
    assert (day.low, day.high) == (2600.0, 3100.0)  # the old range still contains it
    assert "cost_per_bed_day_nok" not in v1.parameters.unconfirmed()
    v2 = change_parameters(
        conn,
        tenant,
        {"uptake_share": 0.9},  # outside the old range 0.25-0.75: the range is dropped
        source="ward plan 2027",
        created_by="finance-1",
        beds_closed=True,
        beds_closed_note="Bystyret 2026-09-15, sak 42: 6 beds closed",
    )
    assert v2.version == 2
    assert (v2.parameters.uptake_share.low, v2.parameters.uptake_share.high) == (None, None)
    assert v2.parameters.beds_closed
    assert v2.parameters.cost_per_bed_day_nok.value == 3100.0  # carried over
    assert [h[0] for h in parameter_history(conn, tenant)] == [1, 2]
    assert parameter_set(conn, tenant, 1).parameters.uptake_share.value == 0.5
    assert current_parameters(conn, tenant).version == 2
    # Never updated in place: the tables refuse it.
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        conn.execute("UPDATE savings_parameters SET value = 1 WHERE version = 1")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("DELETE FROM savings_parameter_sets")
    audit = conn.execute(
        "SELECT count(*) FROM audit_log WHERE action = 'savings.parameters.new_version'"
    ).fetchone()
    assert audit == (2,)


def test_negative_costs_and_bad_input_are_refused_before_anything_is_stored(
    conn: psycopg.Connection[TupleRow], tenant: str
) -> None:
    with pytest.raises(InvalidParameter, match="device_cost_per_year_nok must be ≥ 0"):
        change_parameters(
            conn, tenant, {"device_cost_per_year_nok": -5.0}, source="typo", created_by="x"
        )
    with pytest.raises(InvalidParameter, match="share between 0 and 1"):
        change_parameters(conn, tenant, {"uptake_share": 1.5}, source="typo", created_by="x")
    with pytest.raises(InvalidParameter, match="unknown parameter"):
        change_parameters(conn, tenant, {"cost_per_day": 1.0}, source="typo", created_by="x")
    with pytest.raises(InvalidParameter, match="source"):
        change_parameters(conn, tenant, {"uptake_share": 0.4}, source=" ", created_by="x")
    with pytest.raises(InvalidParameter, match="beds_closed_note"):
        change_parameters(conn, tenant, {}, source="decision", created_by="x", beds_closed=True)
    assert parameter_history(conn, tenant) == []
    # The database refuses a negative value even if the application check were bypassed.
    store_parameter_set(conn, default_parameters(tenant), created_by="setup")
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            """INSERT INTO savings_parameter_sets (tenant_id, version, created_by)
               VALUES ('stavanger', 7, 'x');
               INSERT INTO savings_parameters (tenant_id, version, name, value, unit, source,
                                               as_of)
               VALUES ('stavanger', 7, 'device_cost_per_year_nok', -1, 'NOK', 's', now())"""
        )


def test_design_choice_is_recorded_with_history(
    conn: psycopg.Connection[TupleRow], tenant: str
) -> None:
    assert current_design(conn, tenant) is None
    choose_design(conn, tenant, "historical", chosen_by="analyst", reason="protocol v1")
    choice = choose_design(
        conn,
        tenant,
        Design.DIFFERENCE_IN_DIFFERENCES,
        chosen_by="analyst",
        reason="comparison wards joined the data",
    )
    assert choice.design is Design.DIFFERENCE_IN_DIFFERENCES
    assert [c.design.value for c in design_history(conn, tenant)] == [
        "historical",
        "difference-in-differences",
    ]
    with pytest.raises(ValueError):
        choose_design(conn, tenant, "randomised", chosen_by="analyst", reason="wish")
    with pytest.raises(ConfigurationError, match="why"):
        choose_design(conn, tenant, "concurrent", chosen_by="analyst", reason="")


def test_a_set_stored_before_the_money_model_grew_reads_with_defaults(
    conn: psycopg.Connection[TupleRow], tenant: str
) -> None:
    # a version written by the first money model: a cost per readmission, no variable share
    conn.execute(
        "INSERT INTO savings_parameter_sets (tenant_id, version, created_by) VALUES (%s, 1, 'x')",
        (tenant,),
    )
    for name, value, unit in (
        ("cost_per_bed_day_nok", 3000.0, "NOK/bed-day"),
        ("readmission_cost_nok", 28_500.0, "NOK/readmission"),
    ):
        conn.execute(
            """INSERT INTO savings_parameters (tenant_id, version, name, value, unit, source,
                   as_of, needs_confirmation) VALUES (%s, 1, %s, %s, %s, 'old', %s, false)""",
            (tenant, name, value, unit, date(2026, 1, 1)),
        )
    stored = parameter_set(conn, tenant, 1)
    ps = stored.parameters
    assert (
        ps.cost_per_bed_day_nok.value == 3000.0 and not ps.cost_per_bed_day_nok.needs_confirmation
    )
    assert ps.variable_cost_share.value == default_parameters().variable_cost_share.value
    assert "variable_cost_share" in ps.unconfirmed()
