"""Where the API's routers are mounted, for the modules that decide by the request path."""

from __future__ import annotations

#: Where the API's routers are mounted.
API_PREFIX = "/api/v1"
#: The FHIR router's prefix, under :data:`API_PREFIX`.
FHIR_PREFIX = "/fhir"


def under_fhir(path: str) -> bool:
    """Whether ``path`` is one of the FHIR routes' (or would be one: an unknown resource type
    is answered as a FHIR client expects it too)."""
    root = API_PREFIX + FHIR_PREFIX
    return path == root or path.startswith(root + "/")
