"""The SVG chart builders: pure functions from values to markup (no database)."""

from __future__ import annotations

import itertools
import re

import pytest
from django.utils import translation

from reports import charts
from reports.charts import COLORS, FUNNEL_COLORS, Series

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def rects(svg: str, color: str) -> list[float]:
    """Widths of the rectangles filled with ``color``."""
    return [
        float(width)
        for width, fill in re.findall(r'<rect [^>]*width="([\d.]+)"[^>]*fill="(#\w+)"', svg)
        if fill == color
    ]


def heights(svg: str, color: str) -> list[float]:
    return [
        float(height)
        for height, fill in re.findall(r'<rect [^>]*height="([\d.]+)" fill="(#\w+)"', svg)
        if fill == color
    ]


def texts(svg: str) -> list[str]:
    return re.findall(r"<text [^>]*>([^<]*)</text>", svg)


def test_funnel_bars_scale_to_the_first_step_with_conversions():
    svg = charts.funnel_chart(
        [("Leads", 200), ("MQL", 100), ("SQL", 50), ("Opportunity", 0), ("Won", 0)],
        label="Funnel",
        conversion_label="From the step before",
        empty_message="Nothing",
    )
    assert svg.startswith('<svg class="chart chart-funnel"') and svg.endswith("</svg>")
    widths = [rects(svg, color)[0] for color in FUNNEL_COLORS[:3]]
    assert widths[0] == 2 * widths[1] == 4 * widths[2]
    labels = texts(svg)
    stages = ["Leads", "MQL", "SQL", "Opportunity", "Won"]
    assert [t for t in labels if t in stages] == stages
    assert "50.0%" in labels and "0.0%" in labels and "—" in labels  # 0 of 0: undefined
    assert "<title>Funnel</title>" in svg


def test_funnel_with_no_leads_draws_empty_tracks():
    svg = charts.funnel_chart(
        [("Leads", 0), ("MQL", 0)], label="F", conversion_label="c", empty_message="Nothing"
    )
    assert rects(svg, FUNNEL_COLORS[0]) == [0.0]
    assert "0" in texts(svg)
    empty = charts.funnel_chart([], label="F", conversion_label="c", empty_message="Nothing")
    assert "Nothing" in empty and "chart-empty" in empty


def test_bar_chart_groups_series_per_category():
    svg = charts.bar_chart(
        ["Website", "SEO"],
        [Series("Cost", [1000, 200], COLORS["cost"]), Series("Revenue", [10000, 0], "#00aa00")],
        label="Cost vs revenue",
        empty_message="Nothing",
    )
    cost, revenue = heights(svg, COLORS["cost"]), heights(svg, "#00aa00")
    assert len(cost) == 3 and len(revenue) == 3  # legend swatch + two bars each
    assert revenue[1] == pytest.approx(10 * cost[1], abs=0.5)
    assert cost[2] == pytest.approx(cost[1] / 5, abs=0.1) and revenue[2] == 0
    assert {"Website", "SEO", "Cost", "Revenue", "10k", "0"} <= set(texts(svg))


def test_bar_chart_without_categories_or_values():
    assert "Nothing here" in charts.bar_chart(
        [], [Series("Cost", [], "#000000")], label="x", empty_message="Nothing here"
    )
    svg = charts.bar_chart(
        ["Jan"], [Series("Cost", [0], "#123456")], label="x", empty_message="Nothing"
    )
    assert heights(svg, "#123456")[1] == 0.0  # a zero bar, scale 0…1


def test_labels_are_escaped_in_every_chart():
    series = [Series(SCRIPT, [1], "#123456")]
    built = [
        charts.bar_chart([SCRIPT], series, label=SCRIPT, empty_message=""),
        charts.line_chart([SCRIPT], series, label=SCRIPT, empty_message=""),
        charts.diverging_chart([SCRIPT], [0.5], label=SCRIPT, empty_message=""),
        charts.share_chart([SCRIPT], series, label=SCRIPT, empty_message=""),
        charts.funnel_chart([(SCRIPT, 3)], label=SCRIPT, conversion_label="", empty_message=""),
    ]
    for svg in built:
        assert "<script" not in svg
        assert "&lt;script&gt;" in svg


def test_diverging_chart_colours_gains_and_losses_and_dashes_undefined():
    svg = charts.diverging_chart(
        ["Web", "Show", "Free"], [9.0, -1.0, None], label="ROI", empty_message=""
    )
    assert len(rects(svg, COLORS["positive"])) == 1 and len(rects(svg, COLORS["negative"])) == 1
    gain, loss = rects(svg, COLORS["positive"])[0], rects(svg, COLORS["negative"])[0]
    assert gain == pytest.approx(9 * loss, abs=1)
    assert {"900.0%", "-100.0%", "—"} <= set(texts(svg))


def test_line_chart_draws_one_polyline_per_series():
    svg = charts.line_chart(
        ["2026-01", "2026-02", "2026-03"],
        [Series("Leads", [10, 20, 5], "#111111"), Series("Won", [1, 0, None], "#222222")],
        label="Trend",
        empty_message="",
    )
    lines = re.findall(r'<polyline points="([^"]+)"', svg)
    assert len(lines) == 2
    assert len(lines[0].split()) == 3 and len(lines[1].split()) == 2  # None is skipped
    assert svg.count("<circle") == 5
    single = charts.line_chart(["2026-01"], [Series("Leads", [0], "#111111")], label="T",
                               empty_message="")  # fmt: skip
    assert "<polyline" not in single and single.count("<circle") == 1


def test_share_chart_splits_each_bar_by_share():
    svg = charts.share_chart(
        ["Web", "Empty"],
        [Series("A", [3, 0], "#1d7a52"), Series("B", [1, 0], "#2a64b0")],
        label="Grades",
        empty_message="",
    )
    a, b = rects(svg, "#1d7a52"), rects(svg, "#2a64b0")
    assert len(a) == 2 and len(b) == 2  # legend swatch + one segment: the empty row has none
    assert a[1] == 3 * b[1]
    assert "75%" in texts(svg)


def test_compact_numbers_per_language():
    with translation.override("en"):
        assert charts.compact(950) == "950"
        assert charts.compact(12500) == "12.5k"
        assert charts.compact(12000) == "12k"
        assert charts.compact(3_400_000) == "3.4M"
        assert charts.compact(None) == "—"
    with translation.override("zh-hans"):
        assert charts.compact(13000) == "1.3万"
        assert charts.compact(250_000_000) == "2.5亿"


def test_axis_ticks_are_round_numbers():
    assert charts.axis(0) == (1, [0, 1])
    assert charts.axis(250) == (300, [0, 100, 200, 300])  # not 62.5 and 187.5
    assert charts.axis(730) == (800, [0, 200, 400, 600, 800])
    assert charts.axis(180) == (200, [0, 50, 100, 150, 200])
    assert charts.axis(3) == (3, [0, 1, 2, 3])  # a count axis never shows 2.5 or 0.75
    assert charts.axis(9) == (10, [0, 5, 10])
    assert charts.axis(2400) == (3000, [0, 1000, 2000, 3000])
    assert charts.axis(90) == (100, [0, 25, 50, 75, 100])
    assert charts.axis(0.62) == (0.8, [0, 0.2, 0.4, 0.6, 0.8])
    for peak in (1, 7, 13, 99, 101, 1234, 55_555, 1_700_000, 0.05):
        top, ticks = charts.axis(peak)
        assert top >= peak and ticks[0] == 0 and ticks[-1] == top
        assert 2 <= len(ticks) <= 6
        steps = {round(b - a, 9) for a, b in itertools.pairwise(ticks)}
        assert len(steps) == 1


def test_one_unit_per_chart():
    with translation.override("zh-hans"):
        same = charts.in_one_unit(charts.compact, 1_700_000)
        assert [same(6550.9), same(1_700_000), same(0)] == ["0.7万", "170万", "0"]
        assert charts.in_one_unit(charts.percent, 1_700_000) is charts.percent
    with translation.override("en"):
        same = charts.in_one_unit(charts.compact, 1_700_000)
        assert [same(6550.9), same(1_700_000), same(-40)] == ["<0.1M", "1.7M", ">-0.1M"]
