"""Care records as a FHIR R4 Bundle of Patient and Encounter, turned into care-record rows.

Pure: no database. :func:`bundle_rows` validates the Bundle with ``fhir.resources`` (the R4B
models: Patient, Encounter and Bundle are the same in R4 and R4B) and maps every Encounter to
a row of the care-record CSV (:func:`stayactive.records.import_care_records`), so both formats
go through the same checks and the same writer, and a re-import of either changes nothing.

Mapping (docs/api.md, "Importing stays"):

* Patient: one identifier, a pseudonym. An identifier in a national-identity system
  (fødselsnummer, D- or H-number) or any value that looks like a national identity number
  refuses the whole file; so do ``name``, ``telecom``, ``address``, ``photo`` and ``contact``.
  ``birthDate`` gives the birth year, ``gender`` the sex.
* Encounter: ``identifier[0].value`` is the stay's ``external_ref``; ``subject`` the Patient
  (``Patient/<id>`` or the entry's ``fullUrl``); ``period`` the admission and discharge;
  ``serviceType`` a coding of KPR's code system 9151 (18, 19, 20); ``serviceProvider.display``
  the site and ``location[0].location.display`` the ward; ``hospitalization.dischargeDisposition``
  the destination; extensions ``urn:stayactive:fhir:consent-evaluation`` and
  ``…:consent-open-data`` (valueBoolean) the consents.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from stayactive.records._national_id import NATIONAL_ID_SYSTEMS, looks_like_national_id
from stayactive.records._parse import OPTIONAL_COLUMNS, REQUIRED_COLUMNS

#: KPR's code system 9151 (service types), as a FHIR system URI.
KPR_SERVICE_TYPE_SYSTEM = "urn:oid:2.16.578.1.12.4.1.1.9151"
CONSENT_EVALUATION_URL = "urn:stayactive:fhir:consent-evaluation"
CONSENT_OPEN_DATA_URL = "urn:stayactive:fhir:consent-open-data"
_BUNDLE_TYPES = ("collection", "transaction", "batch")
_IDENTIFYING = ("name", "telecom", "address", "photo", "contact")
#: HL7 discharge-disposition codes (and our own) to the registry's destinations.
DESTINATIONS = {
    "home": "home",
    "alt-home": "home",
    "long": "long_term_care",
    "snf": "long_term_care",
    "long_term_care": "long_term_care",
    "other-hcf": "hospital",
    "hosp": "hospital",
    "hospital": "hospital",
    "exp": "death",
    "death": "death",
    "oth": "other",
    "other": "other",
}


@dataclass(frozen=True)
class EntryProblem:
    """Something wrong with one entry (``entry`` is its index in ``Bundle.entry``, or None for
    the Bundle itself)."""

    entry: int | None
    path: str
    reason: str

    def __str__(self) -> str:
        where = "bundle" if self.entry is None else f"entry {self.entry}"
        return f"{where}{', ' + self.path if self.path else ''}: {self.reason}"


class BundleRefused(Exception):
    """The Bundle cannot be imported; ``problems`` says where and why."""

    def __init__(self, problems: list[EntryProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(map(str, problems[:5])))


@dataclass(frozen=True)
class BundleRow:
    """One Encounter as a care-record row, with the index of its entry."""

    entry: int
    row: dict[str, str]


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, f"{path}[{i}]")
    elif isinstance(value, (str, int)) and not isinstance(value, bool):
        yield path, str(value)


def national_id_problems(document: Any) -> list[EntryProblem]:
    """Every place in the document that holds a national identity number or its system.

    The value itself is never repeated in the problem (it must not reach a log or a client).
    """
    found: list[EntryProblem] = []
    entries = document.get("entry") if isinstance(document, dict) else None
    parts: list[tuple[int | None, Any]] = (
        [(None, {k: v for k, v in document.items() if k != "entry"})]
        if isinstance(document, dict)
        else [(None, document)]
    )
    if isinstance(entries, list):
        parts += list(enumerate(entries))
    for index, part in parts:
        for path, text in _strings(part, ""):
            if text in NATIONAL_ID_SYSTEMS:
                found.append(
                    EntryProblem(index, path, "a national identity number system is not accepted")
                )
            elif looks_like_national_id(text):
                found.append(
                    EntryProblem(
                        index,
                        path,
                        "looks like a Norwegian national identity number; it is refused and "
                        "was not stored",
                    )
                )
    return found


def _validation_problems(exc: ValidationError) -> list[EntryProblem]:
    out = []
    for err in exc.errors():
        loc = list(err.get("loc", ()))
        entry = loc[1] if len(loc) > 1 and loc[0] == "entry" and isinstance(loc[1], int) else None
        rest = loc[2:] if entry is not None else loc
        out.append(EntryProblem(entry, ".".join(map(str, rest)), str(err.get("msg", "invalid"))))
    return out


def bundle_rows(body: bytes) -> list[BundleRow]:
    """The care-record rows of a FHIR R4 Bundle (see the module docstring).

    Raises
    ------
    BundleRefused
        Not JSON, not a valid Bundle, a national identity number anywhere, identifying fields
        on a Patient, or an Encounter that cannot be mapped; every problem is listed with its
        entry index.
    """
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleRefused([EntryProblem(None, "", f"not JSON: {exc}")]) from exc
    if not isinstance(document, dict) or document.get("resourceType") != "Bundle":
        raise BundleRefused([EntryProblem(None, "resourceType", "must be 'Bundle'")])
    # 1. NATIONAL IDENTITY NUMBERS, before anything else looks at the content
    refused = national_id_problems(document)
    if refused:
        raise BundleRefused(refused)
    # 2. THE R4 SCHEMA
    try:
        bundle = Bundle.model_validate(document)
    except ValidationError as exc:
        raise BundleRefused(_validation_problems(exc)) from exc
    if bundle.type not in _BUNDLE_TYPES:
        raise BundleRefused(
            [EntryProblem(None, "type", f"must be one of {', '.join(_BUNDLE_TYPES)}")]
        )
    raw_entries: list[Any] = document.get("entry") or []
    # 3. PATIENTS
    patients: dict[str, dict[str, str]] = {}
    problems: list[EntryProblem] = []
    for i, entry in enumerate(raw_entries):
        resource = entry.get("resource") or {}
        if resource.get("resourceType") != "Patient":
            continue
        patient = _patient(i, resource, problems)
        if patient is None:
            continue
        for key in (f"Patient/{resource.get('id')}", entry.get("fullUrl")):
            if key and key != "Patient/None":
                patients[key] = patient
    # 4. ENCOUNTERS
    rows: list[BundleRow] = []
    for i, entry in enumerate(raw_entries):
        resource = entry.get("resource") or {}
        kind = resource.get("resourceType")
        if kind == "Encounter":
            row = _encounter(i, resource, patients, problems)
            if row is not None:
                rows.append(BundleRow(i, row))
        elif kind != "Patient":
            problems.append(
                EntryProblem(i, "resource", f"{kind} is not imported (Patient and Encounter only)")
            )
    if not rows and not problems:
        problems.append(EntryProblem(None, "entry", "the Bundle has no Encounter"))
    if problems:
        raise BundleRefused(problems)
    return rows


def _patient(
    i: int, resource: dict[str, Any], problems: list[EntryProblem]
) -> dict[str, str] | None:
    for name in _IDENTIFYING:
        if resource.get(name):
            problems.append(
                EntryProblem(i, name, "a Patient must be pseudonymous: this field is not accepted")
            )
            return None
    identifiers = resource.get("identifier") or []
    values = [str(x.get("value") or "") for x in identifiers if x.get("value")]
    if len(values) != 1:
        problems.append(
            EntryProblem(i, "identifier", "a Patient needs exactly one identifier, its pseudonym")
        )
        return None
    birth = str(resource.get("birthDate") or "")
    gender = str(resource.get("gender") or "unknown")
    return {"resident": values[0], "birth_year": birth[:4], "sex": gender}


def _encounter(
    i: int,
    resource: dict[str, Any],
    patients: dict[str, dict[str, str]],
    problems: list[EntryProblem],
) -> dict[str, str] | None:
    before = len(problems)

    def bad(path: str, reason: str) -> None:
        problems.append(EntryProblem(i, path, reason))

    identifiers = resource.get("identifier") or []
    ref = str(identifiers[0].get("value") or "") if identifiers else ""
    if not ref:
        bad("identifier", "an Encounter needs an identifier: the stay's id in the care record")
    subject = str((resource.get("subject") or {}).get("reference") or "")
    patient = patients.get(subject)
    if patient is None:
        bad("subject", f"{subject or 'no reference'} is not a Patient of this Bundle")
    period = resource.get("period") or {}
    if not period.get("start"):
        bad("period.start", "the admission time is needed")
    codes = [
        str(c.get("code") or "")
        for c in ((resource.get("serviceType") or {}).get("coding") or [])
        if c.get("system") == KPR_SERVICE_TYPE_SYSTEM
    ]
    if len(codes) != 1 or codes[0] not in ("18", "19", "20"):
        bad(
            "serviceType",
            f"needs one coding of {KPR_SERVICE_TYPE_SYSTEM} with code 18, 19 or 20",
        )
    site = str((resource.get("serviceProvider") or {}).get("display") or "")
    locations = resource.get("location") or []
    ward = str(((locations[0] if locations else {}).get("location") or {}).get("display") or "")
    if not site:
        bad("serviceProvider.display", "the site (nursing home) is needed")
    if not ward:
        bad("location[0].location.display", "the ward is needed")
    disposition = (resource.get("hospitalization") or {}).get("dischargeDisposition") or {}
    dcodes = [str(c.get("code") or "") for c in disposition.get("coding") or []]
    destination = ""
    if dcodes:
        destination = DESTINATIONS.get(dcodes[0], "")
        if not destination:
            bad("hospitalization.dischargeDisposition", f"unknown code {dcodes[0]!r}")
    consents = {CONSENT_EVALUATION_URL: "false", CONSENT_OPEN_DATA_URL: "false"}
    for ext in resource.get("extension") or []:
        if ext.get("url") in consents:
            consents[ext["url"]] = "true" if ext.get("valueBoolean") is True else "false"
    if len(problems) > before or patient is None:
        return None
    return {
        "external_ref": ref,
        **patient,
        "site": site,
        "ward": ward,
        "admitted_at": str(period.get("start") or ""),
        "discharged_at": str(period.get("end") or ""),
        "stay_type": codes[0],
        "discharge_destination": destination,
        "consent_evaluation": consents[CONSENT_EVALUATION_URL],
        "consent_open_data": consents[CONSENT_OPEN_DATA_URL],
    }


def bundle_csv(rows: list[BundleRow]) -> tuple[str, dict[int, int]]:
    """The Bundle's rows as a care-record CSV, and which entry each line of it came from."""
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=[*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS], lineterminator="\n"
    )
    writer.writeheader()
    lines: dict[int, int] = {}
    for n, row in enumerate(rows):
        writer.writerow(row.row)
        lines[n + 2] = row.entry
    return out.getvalue(), lines
