"""Errors as RFC 9457 problem details (``application/problem+json``); under ``/fhir`` as
FHIR OperationOutcomes (``application/fhir+json``, :mod:`stayactive.api.fhir_errors`), decided
here by the request path for every handler.

Every 4xx carries a specific ``detail`` a person can act on; a 5xx says only what failed and
that it was logged, never a stack trace. Validation errors list the fields at fault without
echoing their values (they may hold a password or a national identity number).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from stayactive.api import fhir_errors
from stayactive.api.fhir_out import FHIR_JSON
from stayactive.api.headers import SECURITY_HEADERS
from stayactive.api.models.common import NATIONAL_ID_ERROR
from stayactive.api.paths import under_fhir
from stayactive.auth import IntegratorNeedsApiKey, WardsNeeded
from stayactive.errors import (
    AuditUnavailable,
    ConfigurationError,
    ConstraintViolation,
    RejectedInput,
    StorageUnavailable,
)

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:stayactive:problem:"

_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}


class FieldProblem(BaseModel):
    """One field or row at fault."""

    loc: list[str | int] = Field(description="Where: body/query/path and the field, or a line.")
    msg: str = Field(description="What is wrong with it.")

    def text(self) -> str:
        """``where: what``, as a validation problem's ``detail`` starts; ``where`` written as
        an OperationOutcome's ``expression`` (``body.items[3].name``)."""
        return fhir_errors.field_path(self.loc) + ": " + self.msg


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = Field(description="URI of the kind of problem, e.g. urn:stayactive:problem:…")
    title: str
    status: int
    detail: str
    instance: str | None = Field(default=None, description="The request path.")
    errors: list[FieldProblem] | None = None


class ApiProblem(Exception):
    """Raise to answer with a problem document."""

    def __init__(
        self,
        status: int,
        slug: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        errors: list[FieldProblem] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.status = status
        self.slug = slug
        self.detail = detail
        self.headers = dict(headers or {})
        self.errors = errors
        self.extra = dict(extra or {})
        super().__init__(detail)


class AccessDenied(ApiProblem):
    """403 for a resident or ward outside the caller's scope. The attempt is audited (action
    ``denied``, :mod:`stayactive.api.denied`): a reviewer sees who tried to read what."""

    def __init__(self, detail: str, *, principal: Any, subject_kind: str, subject_id: str) -> None:
        super().__init__(403, "forbidden", detail)
        self.principal = principal
        self.subject_kind = subject_kind
        self.subject_id = subject_id


def not_found(what: str) -> ApiProblem:
    """404 for an id that is not there or belongs to another tenant (the same answer)."""
    return ApiProblem(404, "not-found", f"{what} not found")


def forbidden(detail: str) -> ApiProblem:
    return ApiProblem(403, "forbidden", detail)


def problem_body(
    path: str,
    status: int,
    slug: str,
    detail: str,
    *,
    errors: list[FieldProblem] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], str]:
    """The body and media type of a problem answered at ``path``: a problem document, or under
    ``/fhir`` an OperationOutcome with the same detail (``extra`` has no place there)."""
    title = _TITLES.get(status, "Error")
    if under_fhir(path):
        return fhir_errors.outcome(status, slug, title, detail, errors), FHIR_JSON
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": path,
    }
    if errors is not None:
        body["errors"] = [e.model_dump() for e in errors]
    body.update(extra or {})
    return body, MEDIA_TYPE


def problem_response(
    request: Request,
    status: int,
    slug: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    errors: list[FieldProblem] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> JSONResponse:
    """The response for a problem."""
    body, media_type = problem_body(
        request.url.path, status, slug, detail, errors=errors, extra=extra
    )
    return JSONResponse(
        body, status_code=status, headers=dict(headers or {}), media_type=media_type
    )


def _http_slug(status: int) -> str:
    return _TITLES.get(status, "error").lower().replace(" ", "-")


def _validation_errors(exc: RequestValidationError) -> list[FieldProblem]:
    out: list[FieldProblem] = []
    for err in exc.errors():
        loc = [p if isinstance(p, int) else str(p) for p in err.get("loc", ())]
        out.append(FieldProblem(loc=loc, msg=str(err.get("msg", "invalid"))))
    return out


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem document."""

    @app.exception_handler(ApiProblem)
    async def _problem(request: Request, exc: ApiProblem) -> JSONResponse:
        return problem_response(
            request,
            exc.status,
            exc.slug,
            exc.detail,
            headers=exc.headers,
            errors=exc.errors,
            extra=exc.extra,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "")
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such path: {request.method} {request.url.path}"
        elif exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}"
        return problem_response(
            request,
            exc.status_code,
            _http_slug(exc.status_code),
            detail,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        detail = errors[0].text() if errors else "the request is not valid"
        if len(errors) > 1:
            detail += f" (and {len(errors) - 1} more)"
        # A national identity number in a note or a name: the same kind of problem as in an
        # import (stayactive.api.models.common), so a client handles both alike.
        national = any(err.get("type") == NATIONAL_ID_ERROR for err in exc.errors())
        slug = "national-id-refused" if national else "invalid-request"
        return problem_response(request, 422, slug, detail, errors=errors)

    @app.exception_handler(RejectedInput)
    async def _rejected(request: Request, exc: RejectedInput) -> JSONResponse:
        # Also a value the database cannot store (a NUL character, a number out of range),
        # translated by stayactive.db.
        return problem_response(request, 422, exc.reason.replace("_", "-"), exc.detail)

    @app.exception_handler(WardsNeeded)
    async def _wards_needed(request: Request, exc: WardsNeeded) -> JSONResponse:
        # The auth store keeps care staff with a ward on every path that sets role or wards.
        detail = f"{exc} in ward_ids; to take a user's access away, disable it"
        return problem_response(request, 422, "wards-needed", detail)

    @app.exception_handler(IntegratorNeedsApiKey)
    async def _integrator_key(request: Request, exc: IntegratorNeedsApiKey) -> JSONResponse:
        # POST /users and PUT /users/{id}/role: a user has a password, an integrator a key.
        return problem_response(request, 422, "integrator-needs-api-key", str(exc))

    @app.exception_handler(ConfigurationError)
    async def _config(request: Request, exc: ConfigurationError) -> JSONResponse:
        # Raised by shared code for bad input it was handed (an unknown tenant, a malformed
        # file header): the caller's request is what must change.
        return problem_response(request, 422, "invalid-input", str(exc))

    @app.exception_handler(StorageUnavailable)
    async def _storage(request: Request, exc: StorageUnavailable) -> JSONResponse:
        log.warning("%s %s: storage unavailable: %s", request.method, request.url.path, exc)
        return problem_response(
            request,
            503,
            "storage-unavailable",
            "the database cannot be reached right now; retry shortly",
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(AuditUnavailable)
    async def _unaudited(request: Request, exc: AuditUnavailable) -> JSONResponse:
        # No audit row, no data: the work was rolled back with the row (stayactive.audit).
        log.error("%s %s: %s", request.method, request.url.path, exc)
        return problem_response(
            request,
            503,
            "audit-unavailable",
            "the request was not served: its audit record could not be written",
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(ConstraintViolation)
    async def _constraint(request: Request, exc: ConstraintViolation) -> JSONResponse:
        # The routes check what they can first and say so precisely; this is the last line:
        # a constraint the request ran into (a race with another request, a rule of the schema).
        name = exc.constraint or exc.kind
        return problem_response(
            request, 409, "conflict", f"the change conflicts with existing data ({name})"
        )

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        # Starlette answers a crash from its outermost middleware, outside SecurityHeaders:
        # the headers every answer carries are set here.
        return problem_response(
            request,
            500,
            "internal-error",
            "the request failed on the server; it was logged with the time and path",
            headers={name.decode(): value.decode() for name, value in SECURITY_HEADERS},
        )


def _responses(
    statuses: tuple[int, ...], model: type[BaseModel], media_type: str, what: str
) -> dict[int | str, dict[str, Any]]:
    content = {media_type: {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}
    out: dict[int | str, dict[str, Any]] = {
        s: {"model": model, "description": _TITLES.get(s, "Error"), "content": content}
        for s in statuses
    }
    out["default"] = {"model": model, "description": f"Any other error, {what}", "content": content}
    return out


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for these statuses, all as problem documents, and a
    ``default`` entry saying that any other error is one too (400, 405, 413, 415, 500…)."""
    return _responses(statuses, Problem, MEDIA_TYPE, "as a problem document")


def outcome_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The same for the FHIR routes, whose errors are OperationOutcomes."""
    return _responses(statuses, fhir_errors.OperationOutcome, FHIR_JSON, "as an OperationOutcome")
