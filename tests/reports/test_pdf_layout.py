"""The PDF's layout: figures are not cut inside their unit, a table is not split from its
heading when it fits on a page."""

from __future__ import annotations

from io import BytesIO

from matplotlib.backends.backend_pdf import PdfPages

from stayactive.reports.model import Row, Table, Value
from stayactive.reports.pdf import _Flow, _wrap


def test_a_figure_and_its_unit_stay_on_one_line_in_a_narrow_column() -> None:
    # "0,3 mill. kr/år" in a column of about nine characters was cut to "0,3 mill. k" / "r/år".
    assert _wrap(["0,3\u00a0mill.\u00a0kr/år"], [0.06]) == [["0,3\u00a0mill.\u00a0kr/år"]]
    # Plain spaces still wrap.
    assert _wrap(["kostnad per hjelpemiddel og år"], [0.06]) == [
        ["kostnad", "per", "hjelpemiddel", "og år"]
    ]


def test_a_table_that_fits_on_a_page_starts_on_a_new_one_rather_than_split() -> None:
    table = Table(
        "destinations",
        "Hvor oppholdene ender",
        ("hjem",),
        tuple(Row(f"gruppe {k}", (Value(0.5, unit="share"),)) for k in range(8)),
        note="Konkurrerende utfall.",
    )
    with PdfPages(BytesIO()) as pdf:
        flow = _Flow(pdf, "bunntekst", "", "nb")
        flow.heading("Side 1")
        while flow._y > 0.2:  # fill page 1 down to a few lines above its foot
            flow.paragraph("tekst")
        flow.table(table)
        assert flow._page == 2
        assert flow._fig is not None
        page_2 = {t.get_text() for t in flow._fig.texts}
        assert {"Hvor oppholdene ender", "gruppe 0", "gruppe 7"} <= page_2
        flow.close_page()
