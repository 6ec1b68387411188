"""The interactive docs load Swagger UI from a CDN without integrity checks, so they are off
unless STAYACTIVE_API_DOCS_UI asks for them; the OpenAPI document is always served."""

from __future__ import annotations

import httpx

from stayactive.api.serve import start_api
from tests.api.conftest import World


def test_swagger_ui_is_off_by_default_and_on_by_setting(shared_world: World) -> None:
    url = shared_world.api.url
    assert httpx.get(f"{url}/api/v1/docs").status_code == 404
    assert "cdn.jsdelivr.net" not in httpx.get(f"{url}/api/v1/docs").text
    assert httpx.get(f"{url}/api/v1/openapi.json").json()["info"]["title"] == "StayActive API"
    api = start_api(shared_world.settings.model_copy(update={"api_docs_ui": True}))
    try:
        page = httpx.get(f"{api.url}/api/v1/docs")
        assert page.status_code == 200 and "swagger-ui" in page.text
    finally:
        api.stop()
