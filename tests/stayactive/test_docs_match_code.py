"""README.md and docs/*.md name only commands, options, settings, ``make`` targets and API
paths that exist.

Operators follow the docs command by command; a documented command or variable that the code does
not know is a defect met on day one. Each failure names the doc file, the line and what is missing.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from stayactive.api import create_app
from stayactive.api.paths import API_PREFIX
from stayactive.cli import app
from stayactive.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CODE_DIRS = ("stayactive", "analytics", "ingest", "dashboard", "firmware_sim", "scripts")

_FENCE = re.compile(r"^\s*```")
_INLINE = re.compile(r"`([^`\n]+)`")
#: Where a command line ends: a pipe, a chain, a redirect or a comment.
_END_OF_COMMAND = {"|", "||", "&&", ";", ">", ">>", "2>&1", "&"}
#: Tokens that stand for a value the reader supplies: ``<file>``, ``{id}``, ``…``, ``...``.
_PLACEHOLDER = re.compile(r"^(<.*>|\{.*\}|\[.*\]|…|\.\.\.|.*…)$")


def _lines() -> Iterator[tuple[str, int, str, bool]]:
    """Every line of the docs as (file, line number, text, inside a code block)."""
    for doc in DOCS:
        in_block = False
        for number, text in enumerate(doc.read_text().splitlines(), start=1):
            if _FENCE.match(text):
                in_block = not in_block
                continue
            yield doc.relative_to(ROOT).as_posix(), number, text, in_block


def _snippets() -> Iterator[tuple[str, int, str]]:
    """Code-block lines and inline code spans, where the docs show something to type."""
    for doc, number, text, in_block in _lines():
        if in_block:
            yield doc, number, text
        else:
            for match in _INLINE.finditer(text):
                yield doc, number, match.group(1)


def _tokens(snippet: str) -> list[str]:
    try:
        return shlex.split(snippet, comments=True)
    except ValueError:  # an unbalanced quote in prose: split on blanks
        return snippet.split()


#: What may stand before the program on a shell line: a prompt, ``sudo``, ``env``, ``VAR=value``.
_PREFIX = re.compile(r"^(\$|#|sudo|env|time|exec|[A-Z_][A-Z0-9_]*=.*)$")


def _command_lines() -> Iterator[tuple[str, int, list[str]]]:
    """Each ``stayactive …`` invocation as its arguments after ``stayactive``.

    Only where ``stayactive`` is the program of a command (first on the line or after ``|``,
    ``&&``, ``;``): elsewhere it names the database, its user or a directory."""
    for doc, number, snippet in _snippets():
        segment: list[str] = []
        for token in [*_tokens(snippet), ";"]:
            if token not in _END_OF_COMMAND and not token.startswith((">", "2>")):
                segment.append(token)
                continue
            while segment and _PREFIX.match(segment[0]):
                segment.pop(0)
            if segment and (segment[0] == "stayactive" or segment[0].endswith("/bin/stayactive")):
                yield from ((doc, number, args) for args in _alternatives(segment[1:]))
            segment = []


def _alternatives(args: list[str]) -> Iterator[list[str]]:
    """``services up|down``, ``[--port N]`` and ``list,`` in a summary: each command they name."""
    args = [arg.strip("[](),") for arg in args]
    args = [arg for arg in args if arg]
    for i, arg in enumerate(args):
        if "|" in arg and not arg.startswith("-"):
            for choice in arg.split("|"):
                yield from _alternatives([*args[:i], choice, *args[i + 1 :]])
            return
    yield args


def _root() -> Any:
    """The CLI's Click group, typed ``Any``: newer Typers vendor their own Click."""
    return typer.main.get_command(app)


def _check_command(root: Any, args: list[str]) -> str | None:
    """What in ``stayactive ARGS`` the CLI does not have, or None."""
    command = root
    path = ["stayactive"]
    context = root.context_class
    ctx = context(root, info_name="stayactive")
    rest = list(args)
    while hasattr(command, "get_command") and rest and not rest[0].startswith("-"):
        if _PLACEHOLDER.match(rest[0]):
            return None  # `stayactive <command> --help` and the like
        sub = command.get_command(ctx, rest[0])
        if sub is None:
            return f"no command `{' '.join([*path, rest[0]])}`"
        path.append(rest.pop(0))
        command = sub
        ctx = context(command, info_name=path[-1], parent=ctx)
    names = {name for param in command.params for name in param.opts + param.secondary_opts}
    names |= {"--help"}
    for arg in rest:
        option = arg.split("=", 1)[0]
        if option.startswith("--") and option != "--" and option not in names:
            return f"`{' '.join(path)}` has no option {option}"
    return None


def test_every_documented_stayactive_command_and_option_exists() -> None:
    root = _root()
    missing = []
    seen = 0
    for doc, number, args in _command_lines():
        seen += 1
        problem = _check_command(root, args)
        if problem:
            missing.append(f"{doc}:{number}: {problem}")
    assert seen > 100  # the extraction finds the docs' commands at all
    assert not missing, "\n".join(missing)


def _settings_variables() -> set[str]:
    return {f"STAYACTIVE_{name.upper()}" for name in Settings.model_fields}


def _variables_read_by_code() -> set[str]:
    """``STAYACTIVE_*`` names the code itself reads or sets outside the settings, as literals."""
    names = set()
    for directory in CODE_DIRS:
        for source in (ROOT / directory).rglob("*.py"):
            names |= set(
                re.findall(r"[\"'](STAYACTIVE_[A-Z0-9_]*[A-Z0-9])[\"']", source.read_text())
            )
    return names


_VARIABLE = re.compile(r"\bSTAYACTIVE_[A-Z0-9_]+")


def test_every_documented_stayactive_variable_is_read() -> None:
    known = _settings_variables() | _variables_read_by_code()
    missing = []
    for doc, number, text, _ in _lines():
        for name in _VARIABLE.findall(text):
            if name.endswith("_"):
                # A family written as a prefix (``STAYACTIVE_DATABASE_*``): some field has it.
                if not any(k.startswith(name) for k in known):
                    missing.append(f"{doc}:{number}: no setting starts with {name}")
            elif name not in known:
                missing.append(f"{doc}:{number}: no setting or variable {name}")
    assert not missing, "\n".join(missing)


def _make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", text, re.MULTILINE))


def test_every_documented_make_target_exists() -> None:
    targets = _make_targets()
    missing = []
    seen = 0
    for doc, number, snippet in _snippets():
        tokens = _tokens(snippet)
        for i, token in enumerate(tokens):
            if token != "make" or (i and tokens[i - 1] not in {*_END_OF_COMMAND, "$"}):
                continue
            # The first word after ``make`` and its flags (``-C DIR``, ``-j2``); a ``make``
            # quoted from a build log with flags only names no target.
            words = iter(tokens[i + 1 :])
            for word in words:
                if word == "-C":
                    next(words, None)
                elif word in _END_OF_COMMAND:
                    break
                elif not word.startswith("-"):
                    seen += 1
                    if word.strip("`.,") not in targets:
                        missing.append(f"{doc}:{number}: no make target {word}")
                    break
    assert seen > 3
    assert not missing, "\n".join(missing)


#: Paths of another product's API that the docs quote: EMQX's REST API in docs/operations.md.
_FOREIGN_PATHS = {
    "/authentication/password_based:built_in_database/users",
    "/authorization/sources/built_in_database/rules/users",
    "/clients/{}",
}
_METHOD_PATH = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE) (/[^\s`,)]*)")
#: ``curl … $API/residents/$RID/days`` and a URL with the prefix written out.
_URL_PATH = re.compile(r"(\$\{?API\}?|(?<![\w/])(?=/api/v1/))(/[^\s`\"')>]*)")
_CURL_METHOD = re.compile(r"(?:-X|--request)\s+([A-Z]+)")
_SEGMENT_PLACEHOLDER = re.compile(r"^(\{.*\}|<.*|\$\{?\w+\}?|\d+)$")


def _shapes(path: str) -> Iterator[str]:
    """``path`` without its query, ids as ``{}``, and each ``a|b`` alternative on its own."""
    path = path.replace("\\|", "|").split("?", 1)[0].rstrip(".,;:")
    segments = ["{}" if _SEGMENT_PLACEHOLDER.match(s) else s for s in path.split("/")]
    for i, segment in enumerate(segments):
        if "|" in segment:
            for choice in segment.split("|"):
                yield from _shapes("/".join([*segments[:i], choice, *segments[i + 1 :]]))
            return
    yield "/".join(segments)


def _fits(shape: str, route: str) -> bool:
    """Whether ``shape`` is a path of ``route``: a route's ``{}`` takes any one segment
    (``/consents/care/withdraw`` is ``/consents/{purpose}/withdraw``)."""
    a, b = shape.split("/"), route.split("/")
    return len(a) == len(b) and all(y in ("{}", x) for x, y in zip(a, b, strict=True))


def _api_routes() -> set[tuple[str, str]]:
    """(method, shape) of every route, by its whole path."""
    served = create_app(Settings(api_docs_ui=True))
    spec = served.openapi()
    routes = {(m.upper(), s) for p, ops in spec["paths"].items() for m in ops for s in _shapes(p)}
    return routes | {("GET", served.openapi_url or ""), ("GET", served.docs_url or "")}


def _documented_paths() -> Iterator[tuple[str, int, str | None, str, tuple[str, ...]]]:
    """(doc, line, method or None for "any", one path as written, the whole paths it may mean)
    of every API path the docs show, each ``a|b`` alternative apart. ``$API/x`` and ``GET /x``
    are under ``/api/v1`` (``GET /healthz`` may also be at the root); a URL with the prefix is
    as written."""
    for doc, number, snippet in _snippets():
        found = [(m, p, "") for m, p in _METHOD_PATH.findall(snippet)]
        if not found:
            curl = _CURL_METHOD.search(snippet)
            method = curl.group(1) if curl else ""
            found = [
                (method, p, "url" if not api else "api") for api, p in _URL_PATH.findall(snippet)
            ]
        for method, path, form in found:
            for shape in _shapes(path):
                if form == "url" or shape.startswith(API_PREFIX):
                    whole: tuple[str, ...] = (shape,)
                elif form == "api":
                    whole = (API_PREFIX + shape,)
                else:
                    whole = (API_PREFIX + shape, shape)
                yield doc, number, method or None, shape, whole


def test_every_documented_api_path_exists() -> None:
    routes = _api_routes()
    missing = []
    seen = 0
    for doc, number, method, shape, meanings in _documented_paths():
        seen += 1
        if shape in _FOREIGN_PATHS:
            continue
        if shape.endswith("…"):  # "/api/v1/fhir/…": something below it
            found = any(s.startswith(m[:-1]) for m in meanings for _, s in routes)
        else:
            found = any(_fits(m, s) and method in (None, r) for m in meanings for r, s in routes)
        if not found:
            missing.append(f"{doc}:{number}: no API route {method or 'for'} {shape}")
    assert seen > 60  # the extraction finds the docs' paths at all
    assert not missing, "\n".join(missing)
