"""Daily steps as FHIR R4 Observations (LOINC 41950-7 "Number of steps in 24 hour Measured",
UCUM unit ``/d``), in a searchset Bundle checked against the R4 models before it leaves."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fhir.resources.R4B.bundle import Bundle

#: The media type of FHIR resources in JSON (FHIR R4 RESTful API, "Content Types").
FHIR_JSON = "application/fhir+json"
STEPS_LOINC = "41950-7"
_LOINC = "http://loinc.org"
_UCUM = "http://unitsofmeasure.org"
_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
PSEUDONYM_SYSTEM = "urn:stayactive:pseudonym"


def steps_observation(
    resident_id: int, pseudonym: str, day: date, steps: int, time_zone: str, device_id: str | None
) -> dict[str, Any]:
    """One resident-day's steps as an Observation resource (a dict, JSON-ready)."""
    tz = ZoneInfo(time_zone)
    start = datetime.combine(day, time(0), tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tz)
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"steps-{resident_id}-{day.isoformat()}",
        "status": "final",
        "category": [
            {"coding": [{"system": _CATEGORY, "code": "activity", "display": "Activity"}]}
        ],
        "code": {
            "coding": [
                {
                    "system": _LOINC,
                    "code": STEPS_LOINC,
                    "display": "Number of steps in 24 hour Measured",
                }
            ]
        },
        "subject": {
            "reference": f"Patient/{resident_id}",
            "identifier": {"system": PSEUDONYM_SYSTEM, "value": pseudonym},
        },
        "effectivePeriod": {"start": start.isoformat(), "end": end.isoformat()},
        "valueQuantity": {"value": steps, "unit": "/d", "system": _UCUM, "code": "/d"},
    }
    if device_id:
        obs["device"] = {"display": device_id}
    return obs


def searchset(observations: list[dict[str, Any]], self_url: str) -> dict[str, Any]:
    """A searchset Bundle of the observations, validated against the R4 (R4B) models."""
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(observations),
        "link": [{"relation": "self", "url": self_url}],
        "entry": [
            {"fullUrl": f"Observation/{o['id']}", "resource": o, "search": {"mode": "match"}}
            for o in observations
        ],
    }
    # Raises pydantic.ValidationError (a 500: a bug of ours) if anything does not conform.
    Bundle.model_validate(bundle)
    return bundle
