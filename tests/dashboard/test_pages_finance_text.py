"""What people typed reaches the finance page as text: a design's reason and a parameter
set's note are shown as written, never as markdown, links or mathematics."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from stayactive import db
from stayactive.auth import hash_password
from stayactive.reports.savings_store import change_parameters, choose_design
from tests.dashboard.conftest import MARKDOWN_TEXT, PASSWORD, DashWorld, log_in, shows_as_text
from tests.fixtures.dashboard_seed import seed_dashboard_tenant

TENANT = "dash-typed"
#: Markdown, HTML, an icon directive and KaTeX mathematics between dollar signs.
TYPED = MARKDOWN_TEXT + r" $x^2$"


def _after(captions: list[str], lead: str) -> str:
    """The text after ``lead`` in the one caption that holds it."""
    found = [c.split(lead, 1)[1] for c in captions if lead in c]
    assert len(found) == 1, captions
    return found[0]


def test_a_design_reason_and_a_parameter_note_full_of_markdown_are_shown_as_text(
    app: AppTest, dash_world: DashWorld
) -> None:
    # A tenant of its own (designs and parameter sets are append-only): small, no effect.
    with db.connect(dash_world.settings) as conn:
        seed_dashboard_tenant(
            conn, TENANT, password_hash=hash_password(PASSWORD), wards=1, residents_per_ward=2,
            days=7, evaluation_walkers_used=False,
        )  # fmt: skip
        choose_design(conn, TENANT, "historical", chosen_by="analytiker", reason=TYPED)
        change_parameters(conn, TENANT, {}, source="test", created_by="analytiker", note=TYPED)
    log_in(app, dash_world.user("finance", TENANT))
    assert not app.exception, app.exception
    report = app.session_state["stayactive_session"].client.savings()
    assert TYPED in report["design_basis"] and TYPED in report["parameter_basis"]
    captions = [c.value for c in app.caption]
    basis = _after(captions, "Valg av sammenligning: ")
    assert shows_as_text(basis, report["design_basis"]), basis
    parameters = _after(captions, "Parametre: ")
    assert shows_as_text(parameters, report["parameter_basis"]), parameters
