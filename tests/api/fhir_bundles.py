"""FHIR R4 Bundles of Patient + Encounter for the import tests."""

from __future__ import annotations

import json
from typing import Any

from stayactive.records import CONSENT_EVALUATION_URL, KPR_SERVICE_TYPE_SYSTEM


def patient(pid: str, pseudonym: str, **extra: Any) -> dict[str, Any]:
    return {
        "fullUrl": f"urn:uuid:{pid}",
        "resource": {
            "resourceType": "Patient", "id": pid,
            "identifier": [{"system": "urn:stayactive:pseudonym", "value": pseudonym}],
            "birthDate": "1938-04-02", "gender": "female", **extra,
        },
    }  # fmt: skip


def encounter(ref: str, pid: str, *, code: str = "18", end: str | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Encounter",
        "status": "finished" if end else "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "identifier": [{"system": "urn:example:care-record", "value": ref}],
        "subject": {"reference": f"Patient/{pid}"},
        "period": {"start": "2026-03-01T10:00:00+01:00", **({"end": end} if end else {})},
        "serviceType": {"coding": [{"system": KPR_SERVICE_TYPE_SYSTEM, "code": code}]},
        "serviceProvider": {"display": "Sykehjem 1"},
        "location": [{"location": {"display": "Korttid 1"}}],
        "extension": [{"url": CONSENT_EVALUATION_URL, "valueBoolean": True}],
    }
    if end:
        resource["hospitalization"] = {
            "dischargeDisposition": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/discharge-disposition",
                        "code": "home",
                    }
                ]
            }
        }
    return {"resource": resource}


def bundle(*entries: dict[str, Any]) -> bytes:
    return json.dumps(
        {"resourceType": "Bundle", "type": "collection", "entry": list(entries)}
    ).encode()
