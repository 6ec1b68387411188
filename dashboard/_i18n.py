"""Texts of the dashboard in bokmål (default) and English, one TOML file per language.

``dashboard/locales/nb.toml`` is the reference: every key must exist there; ``en.toml`` must
have the same keys (a test checks). Texts are ``str.format`` templates: ``t("ward.title",
ward="Korttid 1")``. A missing key shows the key itself, so a gap is visible, never a crash.
"""

from __future__ import annotations

import functools
import logging
import tomllib
from pathlib import Path
from typing import Any

from stayactive.locale_format import Language

log = logging.getLogger(__name__)

#: The two languages (the formatter's type, so a page passes its language straight on).
Lang = Language
LANGUAGES: dict[Lang, str] = {"nb": "Norsk bokmål", "en": "English"}
DEFAULT_LANG: Lang = "nb"
LOCALES = Path(__file__).parent / "locales"


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = str(value)
    return out


@functools.cache
def catalogue(lang: Lang) -> dict[str, str]:
    """Every text of ``lang``, by dotted key."""
    text = (LOCALES / f"{lang}.toml").read_text("utf-8")
    return _flatten(tomllib.loads(text))


def translate(lang: Lang, key: str, **values: Any) -> str:
    """The text ``key`` in ``lang`` with ``values`` filled in."""
    template = catalogue(lang).get(key)
    if template is None:
        log.warning("no %s text for %r", lang, key)
        return key
    return template.format(**values) if values else template
