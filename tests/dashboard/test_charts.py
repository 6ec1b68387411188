"""What a screen reader gets from each chart, read from the Vega-Lite spec Altair writes: every
data mark a ``description`` built in Vega from its row's label, the measure and the row's text;
layers that would only repeat another (a line under its points, a label beside its rule, a
band, a base line) ``aria: false``; axes and legends described in the page's language. The
browser test (test_browser_a11y) checks what Vega then draws."""

from __future__ import annotations

from typing import Any

import pytest

from dashboard import _charts
from dashboard._i18n import Lang, catalogue
from stayactive.locale_format import MISSING, NBSP

Spec = dict[str, Any]


def _layers(chart: _charts.AnyChart) -> list[Spec]:
    spec = chart.to_dict()
    layers: list[Spec] = spec.get("layer", [spec])
    return layers


def _mark(layer: Spec) -> Spec:
    mark = layer["mark"]
    return {"type": mark} if isinstance(mark, str) else dict(mark)


def _calculated(layer: Spec) -> str | None:
    """The Vega expression the layer's ``description`` field is calculated by."""
    for step in layer.get("transform", []):
        if step.get("as") == "description":
            return str(step["calculate"])
    return None


def _described_by(layer: Spec) -> str | None:
    """The field of the layer's ``description`` channel, if it has one."""
    channel = layer.get("encoding", {}).get("description")
    return None if channel is None else str(channel["field"])


def _spoken(layer: Spec) -> bool:
    return _mark(layer).get("aria") is not False


def _days(field: str = "steps") -> list[dict[str, Any]]:
    return [
        {"date": "2026-11-10", "has_data": True, field: 1320, "label": "tir. 10.11.",
         "text": f"1{NBSP}320"},
        {"date": "2026-11-11", "has_data": False, field: None, "label": "ons. 11.11.",
         "text": MISSING},
    ]  # fmt: skip


def test_daily_bars_say_the_day_the_measure_and_the_value() -> None:
    chart = _charts.daily_bars(
        _days(), field="steps", title="Skritt", no_data_label="Ingen data", lang="nb",
        level=700.0, level_label="eget nivå", level_text="700",
    )  # fmt: skip
    bars, missing, level = _layers(chart)
    assert _mark(bars)["type"] == "bar" and _described_by(bars) == "description"
    assert _calculated(bars) == 'datum.label + "; Skritt: " + datum.text'
    # A day without data says so, in words, not as a zero.
    assert _mark(missing)["type"] == "tick" and _described_by(missing) == "description"
    assert _calculated(missing) == 'datum.label + "; Skritt: " + "Ingen data"'
    # The own-level line is labelled only in its tooltip: it says what it is and its value.
    assert _mark(level)["type"] == "rule" and _spoken(level)
    assert _calculated(level) == 'datum.t + "; Skritt: " + datum.text'
    assert level["data"]["values"] == [{"y": 700.0, "t": "eget nivå", "text": "700"}]
    assert bars["encoding"]["x"]["axis"]["description"] == "Dato"
    assert bars["encoding"]["y"]["axis"]["description"] == "Skritt"


def test_daily_bars_without_a_level_have_two_spoken_layers() -> None:
    chart = _charts.daily_bars(
        _days("walking_min"), field="walking_min", title="Minutter",
        no_data_label="Ingen data", lang="en",
    )  # fmt: skip
    layers = _layers(chart)
    assert len(layers) == 2 and all(_described_by(layer) == "description" for layer in layers)
    assert layers[0]["encoding"]["x"]["axis"]["description"] == "Date"


def test_gait_points_speak_the_line_is_silent_the_community_line_says_its_label() -> None:
    rows = [
        {"date": "2026-11-10", "gait_speed": 0.81, "label": "tir. 10.11.",
         "text": f"0,81{NBSP}m/s"},
    ]  # fmt: skip
    markers = [
        {"date": "2026-11-10", "speed": 0.81, "label": "tir. 10.11.: liten forbedring",
         "text": f"0,81{NBSP}m/s"},
    ]  # fmt: skip
    chart = _charts.gait_speed(
        rows, title="m/s", threshold_mps=0.8, threshold_label=f"0,8{NBSP}m/s: kan ferdes ute",
        markers=markers, lang="nb", measure_title="Ganghastighet",
    )  # fmt: skip
    rule, rule_text, line, points, diamonds = _layers(chart)
    # The labelled 0.8 m/s line carries meaning: the rule says its label, once.
    assert _mark(rule)["type"] == "rule" and _spoken(rule) and _described_by(rule) == "t"
    assert _mark(rule_text)["type"] == "text" and not _spoken(rule_text)
    # A line is one path, labelled by Vega with its first row only: silent; the points speak.
    assert _mark(line)["type"] == "line" and not _spoken(line)
    assert "point" not in _mark(line)  # no overlay: the points are a layer of their own
    # Nor a tooltip: a line's would show its first day wherever it is hovered.
    assert "tooltip" not in line["encoding"] and "tooltip" in points["encoding"]
    assert _mark(points)["type"] == "point" and _described_by(points) == "description"
    assert _calculated(points) == 'datum.label + "; Ganghastighet: " + datum.text'
    assert _described_by(diamonds) == "description"
    assert _calculated(diamonds) == 'datum.label + "; Ganghastighet: " + datum.text'
    assert points["encoding"]["y"]["axis"]["description"] == "Ganghastighet"
    assert points["encoding"]["y"]["axis"]["title"] == "m/s"  # the eye still sees the unit


def test_bouts_say_their_whole_label() -> None:
    rows = [
        {"start": "2026-11-10T09:12:00", "end": "2026-11-10T09:13:00", "speed": 0.8,
         "label": f"09:12: 60{NBSP}s, 80 skritt, 0,80{NBSP}m/s"},
    ]  # fmt: skip
    chart = _charts.bouts_timeline(
        rows, speed_title="m/s", lang="nb", measure_title="Ganghastighet"
    )
    (bars,) = _layers(chart)
    assert _described_by(bars) == "label"
    assert bars["encoding"]["x"]["axis"]["description"] == "Klokkeslett"
    assert bars["encoding"]["y"]["axis"]["description"] == "Ganghastighet"


def test_series_points_speak_and_their_line_is_silent() -> None:
    rows = [{"date": "2026-11-10", "five_sts_s": 12.3, "label": "tir. 10.11.",
             "text": f"12,3{NBSP}s"}]  # fmt: skip
    line, points = _layers(
        _charts.series_points(rows, field="five_sts_s", title="Sekunder", lang="nb")
    )
    assert _mark(line)["type"] == "line" and not _spoken(line)
    assert "tooltip" not in line["encoding"] and "tooltip" in points["encoding"]
    assert _calculated(points) == 'datum.label + "; Sekunder: " + datum.text'
    assert _described_by(points) == "description"


def test_survival_curves_say_their_group_and_where_they_end() -> None:
    rows = [
        {"group": g, "day": day, "survival": s, "low": None, "high": None,
         "label": f"dag {day}: {round(s * 100)}{NBSP}%"}
        for g in ("Med utstyr", "Uten utstyr") for day, s in ((0, 1.0), (30, 0.4))
    ]  # fmt: skip
    chart = _charts.survival_curves(
        rows, x_title="Dager siden innleggelse", y_title="Fortsatt i opphold",
        group_title="Gruppe", lang="nb",
    )  # fmt: skip
    band, line = _layers(chart)
    assert _mark(band)["type"] == "area" and not _spoken(band)
    assert _described_by(line) == "description"
    assert _calculated(line) == 'datum.group + "; Fortsatt i opphold: " + datum.last_label'
    # Every row of a curve carries the label of the curve's last day (a line is read once).
    window = next(step for step in line["transform"] if "window" in step)
    assert window["window"] == [{"op": "last_value", "field": "label", "as": "last_label"}]
    assert window["groupby"] == ["group"] and window["frame"] == [None, None]
    assert window["sort"] == [{"field": "day"}]
    # Vega hides the legend's entries from a screen reader: its description names them.
    legend = line["encoding"]["color"]["legend"]
    assert legend["description"] == "Gruppe: Med utstyr; Uten utstyr"
    assert line["encoding"]["x"]["axis"]["description"] == "Dager siden innleggelse"
    assert line["encoding"]["y"]["axis"]["description"] == "Fortsatt i opphold"


def test_tornado_bars_say_the_input_and_both_ends_and_the_base_line_is_silent() -> None:
    rows = [
        {"input": "Kostnad per liggedøgn", "low_x": -1.0, "high_x": 3.0, "base_x": 1.0,
         "width": 4.0, "low_text": f"−1,0{NBSP}mill.{NBSP}kr",
         "high_text": f"3,0{NBSP}mill.{NBSP}kr"},
    ]  # fmt: skip
    chart = _charts.tornado(
        rows, x_title="Nettoverdi (mill. kr per år)", base=1.0, lang="nb",
        low_label="ved lav verdi", high_label="ved høy verdi", input_title="Forutsetning",
    )  # fmt: skip
    low, high, rule = _layers(chart)
    expected = (
        'datum.input + ": ved lav verdi " + datum.low_text + ", ved høy verdi " + datum.high_text'
    )
    for half in (low, high):
        assert _mark(half)["type"] == "bar" and _spoken(half)
        assert _described_by(half) == "description" and _calculated(half) == expected
    assert _mark(rule)["type"] == "rule" and not _spoken(rule)
    assert low["encoding"]["y"]["axis"]["description"] == "Forutsetning"
    assert low["encoding"]["x"]["axis"]["description"] == "Nettoverdi (mill. kr per år)"


def test_a_title_with_quotes_stays_one_string_in_the_expression() -> None:
    title = 'Walker\'s "steps"'
    bars = _layers(
        _charts.daily_bars(_days(), field="steps", title=title, no_data_label="No data", lang="en")
    )[0]
    assert _calculated(bars) == 'datum.label + "; Walker\'s \\"steps\\": " + datum.text'


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_the_charts_words_exist_in_each_language(lang: Lang) -> None:
    words = catalogue(lang)
    for key in ("chart.date", "chart.time", "finance.tornado_input"):
        assert words.get(key), key


def test_both_languages_have_the_same_keys() -> None:
    """What dashboard/_i18n.py promises: en.toml has every key of nb.toml and no other."""
    nb, en = set(catalogue("nb")), set(catalogue("en"))
    assert sorted(nb - en) == [] and sorted(en - nb) == []
