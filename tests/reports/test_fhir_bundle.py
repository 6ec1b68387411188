"""A FHIR R4 Bundle of Patient + Encounter as care-record rows (unit tests, no services)."""

from __future__ import annotations

import json

import pytest

from stayactive.records import BundleRefused, bundle_csv, bundle_rows
from tests.api.fhir_bundles import bundle, encounter, patient


def test_rows_of_a_bundle() -> None:
    rows = bundle_rows(
        bundle(patient("p1", "R-0001"), encounter("E-1", "p1", end="2026-03-10T10:00:00+01:00"))
    )
    assert [r.entry for r in rows] == [1]
    row = rows[0].row
    assert row["external_ref"] == "E-1" and row["resident"] == "R-0001"
    assert (row["stay_type"], row["discharge_destination"], row["birth_year"]) == (
        "18",
        "home",
        "1938",
    )
    assert (row["site"], row["ward"], row["consent_evaluation"]) == (
        "Sykehjem 1",
        "Korttid 1",
        "true",
    )
    text, lines = bundle_csv(rows)
    assert text.splitlines()[0].startswith("external_ref,resident,site,ward")
    assert lines == {2: 1}


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b"[]", (None, "resourceType")),
        (json.dumps({"resourceType": "Bundle", "type": "searchset"}).encode(), (None, "type")),
        (bundle(patient("p1", "R-0001")), (None, "entry")),
        (bundle(patient("p1", "R-0001"), encounter("E-1", "p2")), (1, "subject")),
        (bundle(patient("p1", "R-0001"), {"resource": {"resourceType": "Observation",
                                                        "status": "final",
                                                        "code": {"text": "x"}}}),
         (1, "resource")),
    ],
)  # fmt: skip
def test_refused_with_the_entry(body: bytes, where: tuple[int | None, str]) -> None:
    with pytest.raises(BundleRefused) as info:
        bundle_rows(body)
    assert (info.value.problems[0].entry, info.value.problems[0].path) == where


def test_a_national_id_is_never_repeated() -> None:
    with pytest.raises(BundleRefused) as info:
        bundle_rows(bundle(patient("p1", "15076500565"), encounter("E-1", "p1")))
    assert "15076500565" not in str(info.value)
    assert info.value.problems[0].path == "resource.identifier[0].value"
