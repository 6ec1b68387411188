"""Shared page parts: calling the API with a readable answer on failure, empty states, CSS.

A page never shows a traceback: :func:`fetch` turns every :class:`ApiError` into a sentence in
the reader's language and returns None, and an ended session sends the user to the login.
"""

from __future__ import annotations

import html
import json
import logging
import string
from collections.abc import Callable
from typing import TypeVar

import streamlit as st

from dashboard import _session
from dashboard._client import ApiError, ApiUnavailable, Forbidden, NotAuthenticated, NotFound

log = logging.getLogger(__name__)

T = TypeVar("T")


def fetch(call: Callable[[], T]) -> T | None:
    """``call()``, or None after telling the reader why it failed."""
    session = _session.current()
    try:
        return call()
    except NotAuthenticated:
        session.log_out("login.session_ended")
        st.rerun()
    except Forbidden as exc:
        st.warning(session.t("error.forbidden", detail=exc.detail), icon=":material/block:")
    except NotFound as exc:
        st.info(session.t("error.not_found", detail=exc.detail), icon=":material/search_off:")
    except ApiUnavailable as exc:
        log.warning("API unavailable: %s", exc.detail)
        st.error(session.t("error.unavailable"), icon=":material/cloud_off:")
    except ApiError as exc:
        log.warning("API error %s: %s", exc.status, exc.detail)
        st.error(session.t("error.other", detail=exc.detail), icon=":material/error:")
    return None


def esc(text: object) -> str:
    """``text`` safe inside the HTML of a card (names and notes are user input)."""
    return html.escape(str(text), quote=True)


def markdown_text(text: object) -> str:
    """``text`` shown as it is inside Streamlit's markdown (a label): every ASCII punctuation
    mark is escaped with a backslash, which CommonMark allows for each of them, so a name
    with ``*`` or ``_`` stays a name (names are user input)."""
    return "".join(f"\\{c}" if c in string.punctuation else c for c in str(text))


def table(rows: list[dict[str, str]]) -> None:
    """A small table of texts that wraps on a tablet (no sideways scrolling): the first
    column names the row. Every text is escaped."""
    if not rows:
        return
    columns = list(rows[0])
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(row.get(c, ''))}</td>" for c in columns) + "</tr>"
        for row in rows
    )
    st.html(f"<table class='sa-table'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def empty(text: str) -> None:
    """A helpful empty state: what is missing and, in the text, what to do."""
    st.info(text, icon=":material/info:")


# Larger type and touch targets for a 10-inch tablet held at arm's length; calm colours.
_CSS = """
<style>
  /* Narrow side padding: on a 10-inch tablet beside the sidebar every column counts. */
  .block-container { padding: 2.2rem 1.6rem 2rem 1.6rem; max-width: 1400px; }
  [data-testid="stMetricValue"] { font-size: 1.9rem; }
  [data-testid="stMetricLabel"] p { font-size: 0.95rem; }
  div.stButton > button, div.stDownloadButton > button { min-height: 2.8rem; }
  .sa-card { border: 1px solid #d9dde3; border-radius: 0.6rem; padding: 0.7rem 0.9rem;
             margin-bottom: 0.5rem; background: #ffffff; }
  .sa-compact { padding: 0.55rem 0.9rem; margin-bottom: 0; }
  .sa-urgent { border-left: 0.45rem solid #D55E00; }
  .sa-warn { border-left: 0.45rem solid #E69F00; }
  .sa-device { border-left: 0.45rem solid #0072B2; }
  /* No data: a solid dark grey bar on a grey card (a dashed border on a rounded card drew
     as a few dashes at the corners); grey, apart from the colours of the alerts we know. */
  .sa-nodata { border-left: 0.45rem solid #4b5058; background: #f6f7f9; }
  /* The part of a "Håndtert" button's label that says which alert of whom: read by a
     screen reader (the button's name), hidden from sight (the card beside it says so). */
  [class*="st-key-handle_"] button strong { position: absolute; width: 1px; height: 1px;
      margin: -1px; padding: 0; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap;
      border: 0; }
  .sa-handled { opacity: 0.75; border-left: 0.45rem solid #009E73; }
  .sa-muted { color: #5b6169; font-size: 0.92rem; }
  /* Streamlit draws captions as its text colour at 60 % opacity (#828180 on white, 3.9:1),
     below WCAG 2.1 AA's 4.5:1 for text (1.4.3); the cards' muted grey is 6.2:1. */
  div[data-testid="stCaptionContainer"] { color: #5b6169; opacity: 1; }
  /* The page-language script (page_language) takes no room: its element would add one
     gap above the title. */
  div[data-testid="stElementContainer"]:has(> div[data-testid="stHtml"] > script:only-child) {
      display: none; }
  .sa-headline { border: 2px solid #0072B2; border-radius: 0.8rem; padding: 1rem 1.2rem;
                 background: #f3f8fc; }
  .sa-headline h3, .sa-cash h3 { margin-top: 0; padding-top: 0; }
  .sa-headline, .sa-cash { min-height: 24rem; }
  .sa-table { border-collapse: collapse; width: 100%; font-size: 0.95rem; }
  .sa-table th { text-align: left; font-weight: 600; color: #3c4148; background: #f3f4f6;
                 vertical-align: bottom; }
  .sa-table th, .sa-table td { border: 1px solid #d9dde3; padding: 0.4rem 0.55rem; }
  .sa-table td:first-child { font-weight: 500; }
  .sa-cash { border: 2px solid #5b6169; border-radius: 0.8rem; padding: 1rem 1.2rem;
             background: #f7f7f7; }
  .sa-draft { color: #ffffff; background: #D55E00; border-radius: 0.3rem;
              padding: 0.15rem 0.5rem; font-weight: 600; }
  .sa-draft-box { border: 2px solid #D55E00; border-radius: 0.8rem; padding: 0.7rem 1.1rem;
                  background: #fdf3ec; margin-bottom: 0.8rem; }
  .sa-draft-box p, .sa-draft-box ul { margin: 0.2rem 0; }
  .sa-draft-title { color: #A63F00; font-weight: 700; font-size: 1.25rem; }
  .sa-headline p, .sa-cash p { margin: 0.25rem 0; }
  .sa-big { font-size: 1.9rem; font-weight: 700; margin: 0.2rem 0; }
  .sa-unit { font-size: 1rem; font-weight: 400; color: #5b6169; }
  .sa-p { font-size: 1.1rem; font-weight: 600; }
  .sa-scenario-label { display: inline-block; color: #A63F00; border: 1px solid #D55E00;
                       border-radius: 0.3rem; padding: 0.1rem 0.5rem; font-weight: 600; }
</style>
"""


def apply_style() -> None:
    """The dashboard's CSS, once per run."""
    st.html(_CSS)


def page_language(lang: str) -> None:
    """Tell the browser the page's language (WCAG 2.1, 3.1.1): Streamlit's page says
    ``lang="en"`` whatever it shows, so a screen reader would read bokmål with an English
    voice. A fixed script of ours, with only the language code in it."""
    code = json.dumps(lang)
    st.html(
        f"<script>document.documentElement.lang = {code};</script>", unsafe_allow_javascript=True
    )
