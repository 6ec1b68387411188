"""The dashboard's only way to data: the StayActive API over HTTP (httpx).

No database credentials and no caching across users: every call carries the logged-in user's
bearer token, so every read of resident-level data is an audited API call. Errors come back as
RFC 9457 problem documents; they are raised as :class:`ApiError` subclasses that the pages turn
into a sentence for the reader (never a traceback)::

    ApiError                 base class: the call failed; ``status`` and ``detail`` say why
    ├── ApiUnavailable       the API could not be reached or answered 5xx: try again later
    ├── NotAuthenticated     401: the session ended (logout, expiry, disabled); log in again
    ├── LoginLocked          429 on login: too many failed attempts; ``retry_after_s``
    ├── Forbidden            403: the role or ward scope does not allow it
    └── NotFound             404
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
#: Seconds for one call; a ward overview of 40 residents answers in well under a second.
TIMEOUT_S = 15.0
#: A token is refreshed when it has less than this left.
REFRESH_MARGIN = timedelta(seconds=120)

#: Tests set this to route calls to an in-process fake (unit tests only).
TRANSPORT: httpx.BaseTransport | None = None

JsonObject = dict[str, Any]


class ApiError(Exception):
    """A call to the API failed. ``status`` is the HTTP status (0: no answer)."""

    def __init__(self, status: int, detail: str, *, slug: str = "") -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug


class ApiUnavailable(ApiError):
    """The API could not be reached, timed out, or failed (5xx): try again later."""


class NotAuthenticated(ApiError):
    """401: wrong credentials at login, or the session has ended."""


class LoginLocked(ApiError):
    """429 at login: the account name (from this address or from all) or the address is
    locked for ``retry_after_s`` seconds."""

    def __init__(self, detail: str, retry_after_s: int, slug: str = "account-locked") -> None:
        super().__init__(429, detail, slug=slug)
        self.retry_after_s = retry_after_s


class Forbidden(ApiError):
    """403: not for this role or outside the user's wards."""


class NotFound(ApiError):
    """404: no such ward, resident, device or alert (in this tenant)."""


def _problem(response: httpx.Response) -> tuple[str, str]:
    """``(slug, detail)`` of a problem document, or the status line if it is not one."""
    try:
        body = response.json()
    except ValueError:
        return "", f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return "", f"HTTP {response.status_code}"
    slug = str(body.get("type", "")).rsplit(":", 1)[-1]
    return slug, str(body.get("detail") or body.get("title") or f"HTTP {response.status_code}")


def raise_for_problem(response: httpx.Response) -> None:
    """Raise the :class:`ApiError` that matches a 4xx/5xx answer; return on 2xx/3xx."""
    status = response.status_code
    if status < 400:
        return
    slug, detail = _problem(response)
    if status == 401:
        raise NotAuthenticated(status, detail, slug=slug)
    if status == 403:
        raise Forbidden(status, detail, slug=slug)
    if status == 404:
        raise NotFound(status, detail, slug=slug)
    if status == 429 and slug in ("account-locked", "client-locked"):
        raise LoginLocked(detail, int(response.headers.get("Retry-After", "60")), slug)
    if status >= 500:
        raise ApiUnavailable(status, detail, slug=slug)
    raise ApiError(status, detail, slug=slug)


#: Hops of X-Forwarded-For passed on: the API reads it from the right, so only the last few
#: matter, and a browser must not make the dashboard's request too large to be read.
MAX_FORWARDED_HOPS = 8


def forwarded_for(received: Sequence[str], peer: str | None) -> str:
    """X-Forwarded-For of the API calls made for one browser: the chain that reached the
    dashboard and the address its connection came from, as a proxy appends the peer it saw.
    The API believes only what its trusted proxies added (STAYACTIVE_API_TRUSTED_PROXIES), so
    a browser that writes the header itself names nobody but itself. ``peer`` None is a
    loopback connection (Streamlit gives no address for one)."""
    hops = [hop.strip() for value in received for hop in value.split(",")]
    # What a header may carry on to the API: printable ASCII (the API counts anything that is
    # no address in one bucket).
    kept = [hop for hop in hops if hop and hop.isascii() and hop.isprintable()]
    return ", ".join([*kept, peer or "127.0.0.1"][-MAX_FORWARDED_HOPS:])


class ApiClient:
    """Calls of one logged-in user (or, before login, of nobody).

    Holds the bearer token in memory only; the dashboard keeps the client in the user's own
    server-side session state, never in the URL or a cookie.
    """

    def __init__(self, base_url: str, *, lang: str = "nb", forwarded: str | None = None) -> None:
        """``forwarded``: the browser's X-Forwarded-For chain (:func:`forwarded_for`)."""
        self.base_url = base_url.rstrip("/")
        self.lang = lang
        self._token: str | None = None
        self._token_expires: datetime | None = None
        self._http = httpx.Client(
            base_url=self.base_url + API_PREFIX,
            timeout=TIMEOUT_S,
            transport=TRANSPORT,
            follow_redirects=False,
            headers={"X-Forwarded-For": forwarded} if forwarded else None,
        )

    # -- session ---------------------------------------------------------------------------

    @property
    def logged_in(self) -> bool:
        """True while the client holds a token."""
        return self._token is not None

    def log_in(self, username: str, password: str) -> None:
        """Log in with the OAuth2 password form; raises :class:`NotAuthenticated` if wrong."""
        response = self._send(
            "POST", "/auth/token", data={"username": username, "password": password}, auth=False
        )
        self._take_token(response.json())

    def log_out(self) -> None:
        """End the session at the API (its tokens stop working) and forget the token."""
        if self._token is None:
            return
        try:
            self._send("POST", "/auth/logout")
        except ApiError as exc:
            # The session may already have ended; the token is dropped either way.
            log.info("logout at the API failed (%s); dropping the token", exc.detail)
        finally:
            self._token = None
            self._token_expires = None

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def _take_token(self, body: JsonObject) -> None:
        self._token = str(body["access_token"])
        self._token_expires = datetime.now(UTC) + timedelta(seconds=int(body["expires_in"]))

    def _refresh_if_due(self) -> None:
        if self._token is None or self._token_expires is None:
            return
        if self._token_expires - datetime.now(UTC) > REFRESH_MARGIN:
            return
        response = self._send("POST", "/auth/refresh", refresh=False)
        self._take_token(response.json())

    # -- transport -------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        auth: bool = True,
        refresh: bool = True,
        accept: str = "application/json",
    ) -> httpx.Response:
        if auth and refresh:
            self._refresh_if_due()
        headers = {"Accept": accept}
        if auth:
            if self._token is None:
                raise NotAuthenticated(401, "not logged in", slug="not-authenticated")
            headers["Authorization"] = f"Bearer {self._token}"
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = self._http.request(
                method, path, params=clean, json=json, data=data, headers=headers
            )
        except httpx.TimeoutException as exc:
            raise ApiUnavailable(0, f"the API did not answer within {TIMEOUT_S:g} s") from exc
        except httpx.HTTPError as exc:
            raise ApiUnavailable(0, f"the API could not be reached ({exc})") from exc
        if response.status_code == 401 and auth:
            self._token = None
            self._token_expires = None
        raise_for_problem(response)
        return response

    def get_json(self, path: str, **params: Any) -> Any:
        """GET ``path`` (under /api/v1) and decode its JSON."""
        return self._send("GET", path, params=_query(params)).json()

    def get_bytes(self, path: str, *, accept: str, **params: Any) -> bytes:
        """GET ``path`` as a file (CSV, PDF)."""
        return self._send("GET", path, params=_query(params), accept=accept).content

    def post_json(self, path: str, body: Any) -> Any:
        """POST a JSON body and decode the JSON answer (None for 204)."""
        response = self._send("POST", path, json=body)
        return None if response.status_code == 204 or not response.content else response.json()

    # -- the calls of the pages ------------------------------------------------------------

    def me(self) -> JsonObject:
        """``GET /me``: user, role, tenant, time zone, wards in scope."""
        result: JsonObject = self.get_json("/me")
        return result

    def ward_overview(self, ward_id: int, day: date | None = None) -> JsonObject:
        """``GET /wards/{id}/overview``: one row per resident on the ward."""
        result: JsonObject = self.get_json(f"/wards/{ward_id}/overview", date=day, lang=self.lang)
        return result

    def resident_days(self, resident_id: int, start: date, end: date) -> JsonObject:
        """``GET /residents/{id}/days``: resident-days from ``start`` to ``end``."""
        result: JsonObject = self.get_json(
            f"/residents/{resident_id}/days", **{"from": start, "to": end}
        )
        return result

    def resident_stays(self, resident_id: int) -> list[JsonObject]:
        """``GET /residents/{id}/stays``: stays with their trajectories, newest first."""
        result: list[JsonObject] = self.get_json(f"/residents/{resident_id}/stays")
        return result

    def resident_bouts(self, resident_id: int, day: date) -> JsonObject:
        """``GET /residents/{id}/days/{date}/bouts``: the walking bouts of one day."""
        result: JsonObject = self.get_json(f"/residents/{resident_id}/days/{day.isoformat()}/bouts")
        return result

    def resident_alerts(self, resident_id: int) -> JsonObject:
        """``GET /residents/{id}/alerts``: open and handled alerts."""
        result: JsonObject = self.get_json(f"/residents/{resident_id}/alerts")
        return result

    def resident_consents(self, resident_id: int) -> list[JsonObject]:
        """``GET /residents/{id}/consents``: the state of consent per purpose."""
        result: list[JsonObject] = self.get_json(f"/residents/{resident_id}/consents")
        return result

    def handle_alert(self, alert_id: int, note: str) -> JsonObject:
        """``POST /alerts/{id}/handled`` with a note; who and when come from the token."""
        result: JsonObject = self.post_json(
            f"/alerts/{alert_id}/handled?lang={self.lang}", {"note": note}
        )
        return result

    def wards(self) -> list[JsonObject]:
        """``GET /wards``: the wards the caller may see."""
        result: list[JsonObject] = self.get_json("/wards")
        return result

    def fleet(self, ward_id: int | None = None, *, problems_only: bool = False) -> list[JsonObject]:
        """``GET /fleet``: devices with status, rates and the assignment in force."""
        result: list[JsonObject] = self.get_json(
            "/fleet", ward=ward_id, problems_only=str(problems_only).lower()
        )
        return result

    def savings(self) -> JsonObject:
        """``GET /reports/savings``: the published report (10,000 resamples; the API keeps it
        in memory per data version, so it is fast after the first call), in ``lang``."""
        result: JsonObject = self.get_json("/reports/savings", format="json", lang=self.lang)
        return result

    def savings_scenario(self, scenario: Scenario) -> JsonObject:
        """``POST /reports/savings/scenario``: the report recomputed with the reader's values
        (fewer resamples; a draft)."""
        result: JsonObject = self._send(
            "POST", "/reports/savings/scenario", params={"lang": self.lang}, json=scenario.body()
        ).json()
        return result

    def savings_curves(self) -> JsonObject:
        """``GET /reports/curves``: Kaplan-Meier curves of length of stay per group."""
        result: JsonObject = self.get_json("/reports/curves")
        return result

    def savings_file(self, fmt: str, scenario: Scenario | None = None) -> bytes:
        """The published report, or a scenario of it, as ``csv`` or ``pdf``."""
        accept = {"csv": "text/csv", "pdf": "application/pdf"}[fmt]
        if scenario is None:
            return self.get_bytes("/reports/savings", accept=accept, format=fmt, lang=self.lang)
        return self._send(
            "POST", "/reports/savings/scenario", params={"format": fmt, "lang": self.lang},
            json=scenario.body(), accept=accept,
        ).content  # fmt: skip


@dataclass(frozen=True)
class Scenario:
    """A what-if of the finance page: parameter values by name and a share of the effect."""

    overrides: tuple[tuple[str, float], ...]
    effect_share: float = 1.0

    def body(self) -> JsonObject:
        """The request body of ``POST /reports/savings/scenario``."""
        return {"overrides": dict(self.overrides), "effect_share": self.effect_share}


def _query(params: Mapping[str, Any]) -> dict[str, Any]:
    """Query parameters as strings (dates as ISO 8601), without the unset ones."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        out[key] = value.isoformat() if isinstance(value, date) else value
    return out
