"""Errors under ``/fhir`` as a FHIR R4 client expects them: an OperationOutcome resource
(``application/fhir+json``) with the HTTP status (FHIR R4 RESTful API, "Handling Errors").

:func:`stayactive.api.problems.problem_body` calls :func:`outcome` for every error answered
under the FHIR prefix, so the problem document and the outcome carry the same text: each issue
has severity ``error``, a code of the IssueType value set for the status, the problem's
``detail`` as ``diagnostics``, the problem's kind (``urn:stayactive:problem`` + slug) and title
as ``details``, and for a field at fault its place as ``expression``. The resource is built
with the R4B models of ``fhir.resources``, so what leaves conforms.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from fhir.resources.R4B import operationoutcome as r4b
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from stayactive.api.problems import FieldProblem

#: The code system of the problem kinds (``urn:stayactive:problem:<slug>`` in a problem).
PROBLEM_SYSTEM = "urn:stayactive:problem"

#: IssueType (http://hl7.org/fhir/issue-type) per HTTP status; other 4xx are ``invalid``,
#: other 5xx ``exception``.
_ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "security",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    413: "too-long",
    415: "not-supported",
    422: "invalid",
    429: "throttled",
    500: "exception",
    503: "transient",
}


def issue_code(status: int) -> str:
    """The IssueType code for an error answered with ``status``."""
    return _ISSUE_CODES.get(status, "exception" if status >= 500 else "invalid")


def field_path(loc: Sequence[str | int]) -> str:
    """A field's place as a path, FHIRPath style: ``body.items[3].name``, ``query.patient``.
    The one way of writing it: ``expression`` here and the "where: what" text of a problem
    (:meth:`stayactive.api.problems.FieldProblem.text`, so ``diagnostics`` too)."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + part
    return out


def outcome(
    status: int, slug: str, title: str, detail: str, errors: Sequence[FieldProblem] | None
) -> dict[str, Any]:
    """The OperationOutcome (JSON-ready) of a problem.

    Without field errors: one issue whose ``diagnostics`` is the problem's ``detail``. With
    them: one issue per field (code ``value``, ``expression`` its place); a single field's
    ``diagnostics`` is the problem's ``detail``, several each say ``where: what`` (the
    problem's detail is the first of them and how many more there are).
    """
    details = CodeableConcept(
        coding=[Coding(system=PROBLEM_SYSTEM, code=slug, display=title)], text=title
    )
    if not errors:
        issues = [
            r4b.OperationOutcomeIssue(
                severity="error", code=issue_code(status), details=details, diagnostics=detail
            )
        ]
    else:
        issues = [
            r4b.OperationOutcomeIssue(
                severity="error",
                code="value" if status == 422 else issue_code(status),
                details=details,
                diagnostics=detail if len(errors) == 1 else error.text(),
                expression=[field_path(error.loc)] if error.loc else None,
            )
            for error in errors
        ]
    resource = r4b.OperationOutcome(issue=issues)
    return resource.model_dump(mode="json", exclude_none=True)


class OperationOutcomeIssue(BaseModel):
    """One issue of an OperationOutcome (the fields this API fills)."""

    severity: Literal["error"]
    code: str = Field(description="IssueType: login, security, not-found, invalid, value, …")
    details: dict[str, Any] | None = Field(
        default=None, description="coding: urn:stayactive:problem and the problem's kind."
    )
    diagnostics: str = Field(description="The problem's detail.")
    expression: list[str] | None = Field(default=None, description="The field at fault.")


class OperationOutcome(BaseModel):
    """A FHIR R4 OperationOutcome, as the FHIR routes answer errors (documentation only: the
    answer itself is built with fhir.resources)."""

    resourceType: Literal["OperationOutcome"]
    issue: list[OperationOutcomeIssue] = Field(min_length=1)
