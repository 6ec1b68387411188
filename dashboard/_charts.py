"""Altair charts of the dashboard: one colour-blind-safe palette, large type for tablets.

The palette is Okabe & Ito's (2008), safe for the common colour-vision deficiencies; meaning
never rests on colour alone (days without data are grey *and* hatched-out with a label, the
0.8 m/s line is dashed and labelled). Data are plain lists of dicts: no pandas needed.
Numbers on axes use the Norwegian decimal comma and a space between thousands when the
language is bokmål (Vega's own format gives the English style).

For a screen reader: Vega gives each SVG mark an ``aria-label``, by default Vega-Lite's list of
field names and raw values in English ("date (year-month-date): …; steps: 1320; …"), and
each axis and legend an English sentence. Here every data mark says its row in the page's
language, built in Vega from the row's own label and text (formatted by
:mod:`stayactive.locale_format` on the server): ``"tir. 10.11.; Skritt: 1 320"``. Axes say
their title, legends their title and groups. Layers that only repeat what another says (a
line under its points, a label's text beside its rule, a confidence band, a base line) are
``aria=False``, which hides them from the reader.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import altair as alt

from dashboard._i18n import Lang, translate

#: Okabe-Ito colours.
BLUE = "#0072B2"
ORANGE = "#E69F00"
SKY = "#56B4E9"
GREEN = "#009E73"
VERMILLION = "#D55E00"
PURPLE = "#CC79A7"
YELLOW = "#F0E442"
GREY = "#9AA0A6"
PALETTE = [BLUE, ORANGE, GREEN, VERMILLION, SKY, PURPLE, YELLOW]

FONT_SIZE = 15
#: The charts' words (axes, legends): Streamlit's theme greys them to about 3:1 on white;
#: this is 10.3:1, as WCAG 2.1 AA asks of text (1.4.3).
TEXT = "#3c4148"
HEIGHT = 260

Rows = Sequence[dict[str, Any]]
#: What the chart functions return (Altair's layer() may type as a facet chart).
AnyChart = alt.Chart | alt.LayerChart | alt.FacetChart


def _data(rows: Rows) -> alt.Data:
    """Inline data for Vega (Altair's ``Data`` constructor is untyped)."""
    return alt.Data(values=list(rows))  # type: ignore[no-untyped-call]


def _say(text: str) -> str:
    """``text`` as a string literal in a Vega expression (JSON quotes it as JavaScript does;
    letters and no-break spaces stay as they are, only quotes and control characters are
    escaped)."""
    return json.dumps(text, ensure_ascii=False)


def _described(label: str, title: str, text: str = "datum.text") -> str:
    """A Vega expression for a mark's description, ``"{label}; {title}: {text}"``, where
    ``label`` and ``text`` are Vega expressions of the row and ``title`` is the measure's."""
    return f"{label} + {_say(f'; {title}: ')} + {text}"


def _line_and_points(
    data: alt.Data,
    x: alt.X,
    y: alt.Y,
    title: str,
    measure: str,
    *,
    color: str,
    width: int,
    size: int,
) -> tuple[alt.Chart, alt.Chart]:
    """A line through its points as two layers. A line is one SVG path, which Vega labels with
    its first row only, so the points say the days (``"{label}; {measure}: {text}"``, their
    tooltip the day and its text under ``title``) and the line is silent, with no tooltip
    either: a line's would show its first day wherever it is hovered."""
    line = alt.Chart(data).mark_line(color=color, strokeWidth=width, aria=False).encode(x=x, y=y)
    points = (
        alt.Chart(data)
        .transform_calculate(description=_described("datum.label", measure))
        .mark_point(color=color, size=size, filled=True, opacity=1)
        .encode(
            x=x,
            y=y,
            tooltip=[alt.Tooltip("label:N", title=" "), alt.Tooltip("text:N", title=title)],
            description="description:N",
        )
    )
    return line, points


def _label_expr(fmt: str, lang: Lang) -> str:
    """A Vega label expression that writes numbers the bokmål way (1 234,5; 80 %)."""
    base = f"format(datum.value, '{fmt}')"
    if lang != "nb":
        return base
    # ',' → no-break space, '.' → ','; a percent sign after a no-break space, as
    # stayactive.locale_format writes it in the texts beside the chart.
    swapped = f"replace(replace({base}, /,/g, '\u00a0'), /\\./g, ',')"
    return f"replace({swapped}, /%/g, '\u00a0%')" if "%" in fmt else swapped


def _axis(title: str, fmt: str, lang: Lang, description: str | None = None) -> alt.Axis:
    return alt.Axis(
        title=title,
        # Vega's own is an English sentence ("Y-axis titled 'Skritt' for a linear scale …").
        description=description or title,
        labelExpr=_label_expr(fmt, lang),
        titleFontSize=FONT_SIZE,
        labelFontSize=FONT_SIZE - 1,
    )


def _date_axis(lang: Lang) -> alt.Axis:
    return alt.Axis(
        title=None,
        description=translate(lang, "chart.date"),
        format="%d.%m." if lang == "nb" else "%d %b",
        labelFontSize=FONT_SIZE - 1,
        labelAngle=0,
        labelOverlap=True,
    )


def _finish(chart: AnyChart, height: int = HEIGHT) -> AnyChart:
    done: AnyChart = (
        chart.properties(height=height)
        .configure_view(strokeWidth=0)
        .configure_axis(labelColor=TEXT, titleColor=TEXT)
        .configure_legend(
            labelFontSize=FONT_SIZE - 1,
            titleFontSize=FONT_SIZE,
            orient="top",
            labelColor=TEXT,
            titleColor=TEXT,
        )
    )
    return done


def daily_bars(
    rows: Rows,
    *,
    field: str,
    title: str,
    no_data_label: str,
    lang: Lang,
    color: str = BLUE,
    level: float | None = None,
    level_label: str = "",
    level_text: str = "",
    fmt: str = ",.0f",
) -> AnyChart:
    """Bars per day of ``field``; days without data as a grey outlined bar labelled
    ``no_data_label`` (unknown is not zero); an optional dashed line at ``level``, labelled
    ``level_label`` and read as ``level_text`` (the level formatted as the rows' ``text``).

    Rows: ``date``, ``has_data``, ``field``, ``label`` (the day) and ``text`` (the value)."""
    data = _data(rows)
    x = alt.X("date:T", axis=_date_axis(lang), timeUnit="yearmonthdate")
    bars = (
        alt.Chart(data)
        .transform_filter(alt.datum.has_data)
        .transform_calculate(description=_described("datum.label", title))
        .mark_bar(color=color, cornerRadiusTopLeft=2, cornerRadiusTopRight=2)
        .encode(
            x=x,
            y=alt.Y(f"{field}:Q", axis=_axis(title, fmt, lang)),
            tooltip=[alt.Tooltip("label:N", title=" "), alt.Tooltip("text:N", title=title)],
            description="description:N",
        )
    )
    # A day without data: a grey tick standing on the zero line, placed in data units
    # (datum 0 on the bars' own scale) so that it stays on the axis whatever height the chart
    # gets; a pixel position fell below the axis once the chart was fitted to its container.
    missing = (
        alt.Chart(data)
        .transform_filter(~alt.datum.has_data)
        .transform_calculate(description=_described("datum.label", title, _say(no_data_label)))
        .mark_tick(color=GREY, thickness=3, size=14, yOffset=-7, orient="vertical")
        .encode(
            # in the middle of its day, where the bar would stand (a tick sits at the start)
            x=alt.X("date:T", axis=_date_axis(lang), timeUnit="yearmonthdate", bandPosition=0.5),
            y=alt.datum(0),
            tooltip=[alt.Tooltip("label:N", title=no_data_label)],
            description="description:N",
        )
    )
    layers: list[alt.Chart] = [bars, missing]
    if level is not None:
        # Labelled only in its tooltip: the line says what it is and where it lies.
        layers.append(
            alt.Chart(_data([{"y": level, "t": level_label, "text": level_text}]))
            .transform_calculate(description=_described("datum.t", title))
            .mark_rule(color=ORANGE, strokeDash=[6, 4], strokeWidth=2)
            .encode(y="y:Q", tooltip=[alt.Tooltip("t:N", title=" ")], description="description:N")
        )
    return _finish(alt.layer(*layers))


def gait_speed(
    rows: Rows,
    *,
    title: str,
    threshold_mps: float,
    threshold_label: str,
    markers: Rows,
    lang: Lang,
    measure_title: str | None = None,
) -> AnyChart:
    """Daily median gait speed with the community-ambulation line (dashed, labelled) and the
    days on which a meaningful change from the stay's baseline was reached (``markers``:
    ``date``, ``speed``, ``label``, ``text``). ``measure_title`` names the measure to a screen
    reader (the axis ``title`` is just the unit); rows carry ``label`` and ``text``."""
    measure = measure_title or title
    data = _data([r for r in rows if r.get("gait_speed") is not None])
    x = alt.X("date:T", axis=_date_axis(lang), timeUnit="yearmonthdate")
    y = alt.Y(
        "gait_speed:Q",
        scale=alt.Scale(
            domain=[0, max(1.2, *(r["gait_speed"] for r in rows if r.get("gait_speed")))]
        ),
        axis=_axis(title, ".2f", lang, description=measure),
    )
    line, points = _line_and_points(data, x, y, title, measure, color=BLUE, width=3, size=60)
    rule_data = _data([{"y": threshold_mps, "t": threshold_label}])
    rule = (
        alt.Chart(rule_data)
        .mark_rule(color=VERMILLION, strokeDash=[8, 4], strokeWidth=2)
        .encode(y="y:Q", description="t:N")
    )
    # The rule says its label; the text beside it would say it twice.
    rule_text = (
        alt.Chart(rule_data)
        .mark_text(align="left", dx=4, dy=-8, color=VERMILLION, fontSize=FONT_SIZE - 1, aria=False)
        .encode(y="y:Q", x=alt.value(2), text="t:N")
    )
    layers: list[alt.Chart] = [rule, rule_text, line, points]
    if markers:
        marks = _data(markers)
        layers.append(
            alt.Chart(marks)
            .transform_calculate(description=_described("datum.label", measure))
            .mark_point(shape="diamond", size=260, filled=True, color=GREEN, stroke="#ffffff")
            .encode(
                x=alt.X("date:T", timeUnit="yearmonthdate"),
                y="speed:Q",
                tooltip=[alt.Tooltip("label:N", title=" ")],
                description="description:N",
            )
        )
    return _finish(alt.layer(*layers))


def bouts_timeline(
    rows: Rows,
    *,
    speed_title: str,
    lang: Lang,
    measure_title: str | None = None,
) -> AnyChart:
    """The walking bouts of a day: a bar per bout from start to end (local time of day),
    its height the bout's speed. Rows: ``start``, ``end``, ``speed`` and ``label``, the whole
    bout in words (start, duration, steps, speed), which is also what a screen reader hears;
    ``measure_title`` names the speed axis to it (the axis ``speed_title`` is the unit)."""
    data = _data(rows)
    time_axis = alt.Axis(
        title=None,
        description=translate(lang, "chart.time"),
        format="%H:%M",
        labelFontSize=FONT_SIZE - 1,
    )
    chart = (
        alt.Chart(data)
        .mark_bar(color=BLUE, opacity=0.85)
        .encode(
            x=alt.X("start:T", axis=time_axis),
            x2="end:T",
            y=alt.Y(
                "speed:Q",
                axis=_axis(speed_title, ".2f", lang, description=measure_title or speed_title),
            ),
            tooltip=[alt.Tooltip("label:N", title=" ")],
            description="label:N",
        )
    )
    return _finish(chart, height=200)


def series_points(
    rows: Rows,
    *,
    field: str,
    title: str,
    lang: Lang,
    color: str = PURPLE,
    fmt: str = ".1f",
) -> AnyChart:
    """Points joined by a thin line (sit-to-stand times and similar sparse measures). Rows:
    ``date``, ``field``, ``label`` (the day) and ``text`` (the value)."""
    data = _data([r for r in rows if r.get(field) is not None])
    x = alt.X("date:T", axis=_date_axis(lang), timeUnit="yearmonthdate")
    y = alt.Y(f"{field}:Q", axis=_axis(title, fmt, lang))
    line, points = _line_and_points(data, x, y, title, title, color=color, width=2, size=80)
    return _finish(alt.layer(line, points), height=200)


def survival_curves(
    rows: Rows,
    *,
    x_title: str,
    y_title: str,
    group_title: str,
    lang: Lang,
) -> AnyChart:
    """Kaplan-Meier step curves (share still in the stay by day), one colour per group, with
    the 95 % band where given (``low``/``high``). Rows: ``group``, ``day``, ``survival``,
    ``low``, ``high`` and ``label`` (the point in words: day, share, still admitted).

    A curve is one SVG path, read as one mark: it says its group and where it ends (the
    ``label`` of its last day); the band says nothing more and is silent."""
    data = _data(rows)
    groups = list(dict.fromkeys(str(r["group"]) for r in rows))
    scale = alt.Scale(range=[BLUE, ORANGE, GREEN, PURPLE])
    # The legend in two columns over the plot: one column of four long group names took the
    # height the curves need (the whole chart, legend included, is fitted to the height). Both
    # layers carry the same legend (Vega-Lite merges them; None on one would drop it).
    color = alt.Color(
        "group:N",
        title=group_title,
        scale=scale,
        legend=alt.Legend(orient="top", direction="horizontal", columns=2, labelLimit=400,
                          symbolStrokeWidth=4, symbolType="stroke", symbolOpacity=1,
                          # Vega hides the entries from a screen reader: the label names them.
                          description=f"{group_title}: {'; '.join(groups)}"),
    )  # fmt: skip
    x = alt.X("day:Q", axis=_axis(x_title, ",.0f", lang))
    band = (
        alt.Chart(data)
        .transform_filter("isValid(datum.low)")
        .mark_area(opacity=0.18, interpolate="step-after", aria=False)
        .encode(x=x, y="low:Q", y2="high:Q", color=color)
    )
    line = (
        alt.Chart(data)
        .transform_window(
            last_label="last_value(label)",
            groupby=["group"],
            sort=[alt.SortField("day")],
            frame=[None, None],
        )
        .transform_calculate(description=_described("datum.group", y_title, "datum.last_label"))
        .mark_line(interpolate="step-after", strokeWidth=3)
        .encode(
            x=x,
            y=alt.Y("survival:Q", axis=_axis(y_title, ".0%", lang), scale=alt.Scale(domain=[0, 1])),
            color=color,
            strokeDash=alt.StrokeDash("group:N", legend=None),
            tooltip=[alt.Tooltip("group:N", title=group_title), alt.Tooltip("label:N", title=" ")],
            description="description:N",
        )
    )
    return _finish(alt.layer(band, line), height=420)


def tornado(
    rows: Rows,
    *,
    x_title: str,
    base: float,
    lang: Lang,
    low_label: str,
    high_label: str,
    input_title: str,
) -> AnyChart:
    """One-way sensitivity: a bar per input from the outcome at its low end to its high end,
    widest on top, around the base value (vertical rule). Rows: ``input``, ``low_x``,
    ``high_x``, ``base_x``, ``width`` and the outcomes as text, ``low_text``, ``high_text``.

    Both halves of a bar say the whole of it, "{input}: {low_label} {low_text}, {high_label}
    {high_text}", so the reader hears both ends at either; ``input_title`` names the inputs'
    axis (it shows no title). The base line is silent: the caption gives the base."""
    data = _data(rows)
    y = alt.Y(
        "input:N",
        sort=alt.SortField("width", order="descending"),
        title=None,
        axis=alt.Axis(labelFontSize=FONT_SIZE - 1, labelLimit=320, description=input_title),
    )
    description = (
        f"datum.input + {_say(f': {low_label} ')} + datum.low_text"
        f" + {_say(f', {high_label} ')} + datum.high_text"
    )
    low = (
        alt.Chart(data)
        .transform_calculate(description=description)
        .mark_bar(color=SKY)
        .encode(
            x=alt.X("low_x:Q", axis=_axis(x_title, ",.1f", lang)),
            x2="base_x:Q",
            y=y,
            tooltip=[alt.Tooltip("input:N", title=" "), alt.Tooltip("low_text:N", title=low_label)],
            description="description:N",
        )
    )
    high = (
        alt.Chart(data)
        .transform_calculate(description=description)
        .mark_bar(color=BLUE)
        .encode(
            x="base_x:Q",
            x2="high_x:Q",
            y=y,
            tooltip=[
                alt.Tooltip("input:N", title=" "),
                alt.Tooltip("high_text:N", title=high_label),
            ],
            description="description:N",
        )
    )
    rule = (
        alt.Chart(_data([{"x": base}]))
        .mark_rule(color="#333333", strokeWidth=2, aria=False)
        .encode(x="x:Q")
    )
    return _finish(alt.layer(low, high, rule), height=max(160, 44 * len(rows)))
