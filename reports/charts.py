"""Server-rendered SVG charts for the report pages: pure functions, no database, no JS.

Every builder takes plain values and already-translated labels and returns a
``SafeString`` holding one ``<svg>``. All text goes through ``format_html`` (or
``conditional_escape``), so a campaign called ``<script>`` is drawn as text, never run.
Charts scale to their container (``viewBox`` + ``width: 100%`` in CSS) and use solid
fills, which print without "background graphics".
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils import formats
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

#: Colours shared by the charts and the legends in the CSS (print-safe solid fills).
COLORS = {
    "leads": "#1f4e8c",
    "mqls": "#4f86cf",
    "sqls": "#0f8aa6",
    "opportunities": "#7b5cc4",
    "won": "#1d7a52",
    "cost": "#e07b39",
    "revenue": "#2fae7c",
    "positive": "#2fae7c",
    "negative": "#c8454f",
    "grid": "#e3e8ef",
    "axis": "#9aa6b8",
    "text": "#1c2533",
    "muted": "#5d6b80",
    "track": "#eef1f5",
}
GRADE_COLORS = {"A": "#1d7a52", "B": "#2a64b0", "C": "#f3c24b", "D": "#c9ced6", "": "#e4e7ec"}
FUNNEL_COLORS = ("#1f4e8c", "#3a6fb5", "#4f86cf", "#7b5cc4", "#1d7a52")


@dataclass(frozen=True)
class Series:
    """One named run of values (``None`` = no value) drawn in one colour."""

    name: str
    values: Sequence[float | None]
    color: str


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------


def _join(parts) -> SafeString:
    """Concatenate safe fragments; any plain string among them is escaped."""
    return mark_safe("".join(str(conditional_escape(part)) for part in parts))  # noqa: S308


def _f(value: float) -> str:
    """A coordinate: one decimal, no exponent."""
    return f"{value:.1f}"


def grouped(value, places: int = 0) -> str:
    """A number with ``places`` decimals (rounded half up), grouped by thousands.

    Formatted by Django's l10n in the active language: our formats (``pipeline/formats``)
    group by thousands with "," in both English and Chinese (2,815,039.00 is how finance
    tables read in Chinese too).
    """
    step = Decimal(1).scaleb(-places)
    rounded = Decimal(str(value)).quantize(step, rounding=ROUND_HALF_UP)
    return formats.number_format(rounded, places, force_grouping=True)


def compact(value: float | None, scale: float | None = None) -> str:
    """A short number for axes and bar ends: 950, 12.5k, 3.4M — 万/亿 in Chinese.

    With ``scale`` (a chart's largest value) the unit is chosen by the scale, not by the
    value, so one chart reads in one unit: 0.7万, 170万 rather than 6,550.9 next to 170万.
    """
    if value is None:
        return "—"
    number = float(value)
    if number == 0:
        return "0"
    size = abs(number) if scale is None else abs(float(scale))
    if (get_language() or "").startswith("zh"):
        steps = ((1e8, "亿"), (1e4, "万"))
    else:
        steps = ((1e9, "B"), (1e6, "M"), (1e3, "k"))
    for limit, suffix in steps:
        if size >= limit:
            scaled = number / limit
            if abs(scaled) < 0.05:  # would read as 0: say how small instead
                return f"{'>-' if number < 0 else '<'}{grouped(0.1, 1)}{suffix}"
            digits = 0 if abs(scaled) >= 100 else 1
            text = grouped(scaled, digits)
            if digits and text.endswith("0") and text[-2] in ".,":
                text = text[:-2]  # 12.0k reads better as 12k
            return f"{text}{suffix}"
    if number.is_integer():
        return grouped(int(number), 0)
    return grouped(number, 1)


def in_one_unit(value_format: Callable[[float | None], str], peak: float) -> Callable:
    """``compact`` held to the unit of ``peak``; any other format as it is."""
    if value_format is compact:
        return functools.partial(compact, scale=peak)
    return value_format


def whole(value: float | None) -> str:
    """A count with thousands separators; fractions (credit-weighted) keep one decimal."""
    if value is None:
        return "—"
    number = float(value)
    if number.is_integer():
        return grouped(int(number), 0)
    return grouped(number, 1)


def percent(value: float | None, digits: int = 1) -> str:
    """0.625 → "62.5%"; ``None`` → "—"."""
    if value is None:
        return "—"
    return f"{grouped(value * 100, digits)}%"


def axis(value: float, count: int = 4) -> tuple[float, list[float]]:
    """An axis that reads well: ``(top, ticks)`` for data up to ``value``.

    The step between ticks is 1, 2, 2.5 or 5 × 10ⁿ (2.5 only from 25 up, so a count axis
    never shows 2.5 or 7.5), the smallest that covers ``value`` in about ``count`` steps;
    ``top`` is the first tick at or above ``value``. So 250 gives 0, 100, 200, 300 rather
    than 0, 62.5, 125, 187.5, 250; zero or less gives 0, 1.
    """
    if value <= 0:
        return 1.0, [0.0, 1.0]
    raw = value / count
    exponent = math.floor(math.log10(raw))
    base = 10.0**exponent
    steps = (1, 2, 2.5, 5, 10) if exponent >= 1 else (1, 2, 5, 10)
    step = next(s * base for s in steps if raw <= s * base * (1 + 1e-9))
    tops = math.ceil(value / step - 1e-9)
    ticks = [round(step * i, 10) for i in range(tops + 1)]
    return ticks[-1], ticks


def _svg(width: int, height: int, label: str, body, css: str = "") -> SafeString:
    return format_html(
        '<svg class="chart{}" viewBox="0 0 {} {}" role="img" aria-label="{}" '
        'xmlns="http://www.w3.org/2000/svg" font-size="12">'
        "<title>{}</title>{}</svg>",
        f" {css}" if css else "",
        width,
        height,
        label,
        label,
        body,
    )


def _text(x: float, y: float, text: str, *, anchor="start", size=12, color=None, weight=None):
    return format_html(
        '<text x="{}" y="{}" text-anchor="{}" font-size="{}" fill="{}"{}>{}</text>',
        _f(x),
        _f(y),
        anchor,
        size,
        color or COLORS["text"],
        mark_safe(f' font-weight="{weight}"') if weight else "",  # noqa: S308 - a constant
        text,
    )


def _rect(x: float, y: float, width: float, height: float, color: str, title: str = ""):
    if title:
        return format_html(
            '<rect x="{}" y="{}" width="{}" height="{}" fill="{}" rx="2"><title>{}</title></rect>',
            _f(x),
            _f(y),
            _f(max(width, 0)),
            _f(max(height, 0)),
            color,
            title,
        )
    return format_html(
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}" rx="2"/>',
        _f(x),
        _f(y),
        _f(max(width, 0)),
        _f(max(height, 0)),
        color,
    )


def _line(x1, y1, x2, y2, color, width=1, dash=""):
    return format_html(
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="{}"{}/>',
        _f(x1),
        _f(y1),
        _f(x2),
        _f(y2),
        color,
        width,
        mark_safe(f' stroke-dasharray="{dash}"') if dash else "",  # noqa: S308 - a constant
    )


def _empty(width: int, height: int, label: str, message: str) -> SafeString:
    return _svg(
        width,
        height,
        label,
        _join(
            [
                _rect(0, 0, width, height, COLORS["track"]),
                _text(width / 2, height / 2 + 4, message, anchor="middle", color=COLORS["muted"]),
            ]
        ),
        css="chart-empty",
    )


def _fit(text: str, width: float) -> str:
    """Shorten ``text`` to about ``width`` Latin characters (CJK counts double)."""
    text = str(text)
    if _text_width(text) <= width:
        return text
    out, used = "", 0.0
    for char in text:
        used += 2 if ord(char) > 0x2E80 else 1
        if used > width - 1:
            break
        out += char
    return out + "…"


def _legend(series: Sequence[Series], x: float, y: float) -> list:
    parts, cursor = [], x
    for item in series:
        parts.append(_rect(cursor, y - 9, 10, 10, item.color))
        parts.append(_text(cursor + 14, y, item.name, size=11.5, color=COLORS["muted"]))
        cursor += 24 + 7.5 * _text_width(item.name)
    return parts


def _text_width(text: str) -> float:
    """Rough width in "average Latin characters": CJK characters count double."""
    return sum(2 if ord(char) > 0x2E80 else 1 for char in str(text))


# --------------------------------------------------------------------------------------
# Funnel
# --------------------------------------------------------------------------------------


def funnel_chart(
    steps: Sequence[tuple[str, float]],
    *,
    label: str,
    conversion_label: str,
    empty_message: str,
    value_format: Callable[[float | None], str] = whole,
) -> SafeString:
    """Horizontal bars, one per stage, scaled to the first; the conversion from the
    previous stage in the right-hand column."""
    width, row, top, left, right = 640, 44, 26, 130, 92
    height = top + row * len(steps) + 6
    if not steps:
        return _empty(width, 120, label, empty_message)
    biggest = max((float(v or 0) for _, v in steps), default=0) or 1.0
    area = width - left - right
    parts = [
        _text(width - 8, 14, conversion_label, anchor="end", size=11, color=COLORS["muted"]),
    ]
    previous = None
    for index, (name, value) in enumerate(steps):
        value = float(value or 0)
        y = top + index * row
        color = FUNNEL_COLORS[min(index, len(FUNNEL_COLORS) - 1)]
        bar = area * value / biggest
        parts.append(_text(left - 10, y + 22, name, anchor="end", weight="600"))
        parts.append(_rect(left, y + 6, area, 26, COLORS["track"]))
        shown = value_format(value)
        parts.append(_rect(left, y + 6, bar, 26, color, title=f"{name}: {shown}"))
        inside = bar > 12 + 8 * len(shown)
        parts.append(
            _text(
                left + bar - 8 if inside else left + bar + 6,
                y + 23,
                shown,
                anchor="end" if inside else "start",
                color="#ffffff" if inside else COLORS["text"],
                weight="600",
            )
        )
        if previous is not None:
            rate = value / previous if previous else None
            parts.append(
                _text(width - 8, y + 23, percent(rate), anchor="end", color=COLORS["muted"])
            )
        previous = value
    return _svg(width, height, label, _join(parts), css="chart-funnel")


# --------------------------------------------------------------------------------------
# Grouped vertical bars (cost vs revenue per channel or per month)
# --------------------------------------------------------------------------------------


def bar_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    label: str,
    empty_message: str,
    value_format: Callable[[float | None], str] = compact,
    height: int = 260,
) -> SafeString:
    """Grouped vertical bars: one group per category, one bar per series."""
    width = 640
    if not categories or not series:
        return _empty(width, 140, label, empty_message)
    left, right, top, bottom = 56, 10, 30, 44
    values = [float(v) for s in series for v in s.values if v is not None]
    peak, ticks = axis(max([v for v in values if v > 0], default=0))
    value_format = in_one_unit(value_format, peak)
    plot_w, plot_h = width - left - right, height - top - bottom
    group = plot_w / len(categories)
    gap = min(group * 0.25, 24)
    bar_w = max((group - gap) / len(series), 1.5)
    parts = _legend(series, left, 14)
    for tick in ticks:
        y = top + plot_h - plot_h * tick / peak
        parts.append(_line(left, y, width - right, y, COLORS["grid"]))
        parts.append(_text(left - 6, y + 4, value_format(tick), anchor="end", size=10.5))
    parts.append(_line(left, top + plot_h, width - right, top + plot_h, COLORS["axis"]))
    max_chars = max(4, int(group / 6.5))
    longest = max(_text_width(c) for c in categories)
    # Short labels (months) are thinned out rather than cut; long names are shortened.
    every = 1 if longest <= max_chars or longest > 10 else math.ceil(longest / max_chars)
    for index, category in enumerate(categories):
        x0 = left + index * group + gap / 2
        for position, item in enumerate(series):
            value = item.values[index] if index < len(item.values) else None
            if value is None:
                continue
            bar_h = plot_h * max(float(value), 0) / peak
            parts.append(
                _rect(
                    x0 + position * bar_w,
                    top + plot_h - bar_h,
                    bar_w - 1,
                    bar_h,
                    item.color,
                    title=f"{category} · {item.name}: {value_format(value)}",
                )
            )
        if index % every:
            continue
        name = category if every > 1 else _fit(category, max_chars)
        parts.append(
            _text(left + (index + 0.5) * group, top + plot_h + 16, name, anchor="middle", size=11)
        )
    return _svg(width, height, label, _join(parts), css="chart-bars")


# --------------------------------------------------------------------------------------
# Diverging horizontal bars (ROI per channel)
# --------------------------------------------------------------------------------------


def diverging_chart(
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    label: str,
    empty_message: str,
    value_format: Callable[[float | None], str] = percent,
    scale_to: float | None = None,
) -> SafeString:
    """One horizontal bar per label around a zero line: green above, red below;
    ``None`` (undefined, e.g. ROI without cost) is written "—" with no bar. Bars scale to
    the largest value, or to ``scale_to`` (1.0 for rates, so 50 % is half the width)."""
    width, row, top = 640, 28, 8
    if not labels:
        return _empty(width, 120, label, empty_message)
    left, right = 130, 70
    height = top + row * len(labels) + 8
    defined = [abs(float(v)) for v in values if v is not None]
    negatives = any(v is not None and v < 0 for v in values)
    positives = any(v is not None and v > 0 for v in values)
    span = max([*defined, scale_to or 0]) or 1.0
    area = width - left - right
    if negatives and positives:
        zero, scale = left + area / 2, area / 2 / span
    elif negatives:
        zero, scale = left + area, area / span
    else:
        zero, scale = left, area / span
    parts = [_line(zero, top - 4, zero, height - 4, COLORS["axis"])]
    for index, (name, value) in enumerate(zip(labels, values, strict=False)):
        y = top + index * row
        parts.append(_text(left - 10, y + 17, _fit(name, 19), anchor="end"))
        if value is None:
            parts.append(_text(zero + 6, y + 17, "—", color=COLORS["muted"]))
            continue
        length = abs(float(value)) * scale
        color = COLORS["positive"] if value >= 0 else COLORS["negative"]
        x = zero if value >= 0 else zero - length
        parts.append(_rect(x, y + 5, length, 17, color, title=f"{name}: {value_format(value)}"))
        if value >= 0:
            parts.append(_text(zero + length + 6, y + 17, value_format(value), weight="600"))
        else:
            end = zero - length
            # Text goes left of the bar when there is room, else right of the zero line.
            if end - left > 60:
                parts.append(
                    _text(end - 6, y + 17, value_format(value), anchor="end", weight="600")
                )
            else:
                parts.append(_text(zero + 6, y + 17, value_format(value), weight="600"))
    return _svg(width, height, label, _join(parts), css="chart-diverging")


# --------------------------------------------------------------------------------------
# Lines (monthly trend)
# --------------------------------------------------------------------------------------


def line_chart(
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    label: str,
    empty_message: str,
    value_format: Callable[[float | None], str] = compact,
    height: int = 240,
) -> SafeString:
    """One polyline per series over the x labels, with point markers and y gridlines."""
    width = 640
    if not x_labels or not series:
        return _empty(width, 140, label, empty_message)
    left, right, top, bottom = 48, 14, 30, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [float(v) for s in series for v in s.values if v is not None]
    peak, ticks = axis(max(values, default=0))
    value_format = in_one_unit(value_format, peak)
    step = plot_w / max(len(x_labels) - 1, 1)

    def x_at(index: int) -> float:
        return left + (index * step if len(x_labels) > 1 else plot_w / 2)

    def y_at(value: float) -> float:
        return top + plot_h - plot_h * max(value, 0) / peak

    parts = _legend(series, left, 14)
    for tick in ticks:
        y = y_at(tick)
        parts.append(_line(left, y, width - right, y, COLORS["grid"]))
        parts.append(_text(left - 6, y + 4, value_format(tick), anchor="end", size=10.5))
    parts.append(_line(left, top + plot_h, width - right, top + plot_h, COLORS["axis"]))
    every = max(1, math.ceil(len(x_labels) / 12))
    for index, name in enumerate(x_labels):
        if index % every == 0 or index == len(x_labels) - 1:
            parts.append(_text(x_at(index), height - 12, name, anchor="middle", size=10.5))
    for item in series:
        points = [(x_at(i), y_at(float(v))) for i, v in enumerate(item.values) if v is not None]
        if len(points) > 1:
            parts.append(
                format_html(
                    '<polyline points="{}" fill="none" stroke="{}" stroke-width="2.2" '
                    'stroke-linejoin="round" stroke-linecap="round"/>',
                    " ".join(f"{_f(x)},{_f(y)}" for x, y in points),
                    item.color,
                )
            )
        for (x, y), value in zip(points, [v for v in item.values if v is not None], strict=False):
            parts.append(
                format_html(
                    '<circle cx="{}" cy="{}" r="3" fill="#ffffff" stroke="{}" stroke-width="2">'
                    "<title>{}: {}</title></circle>",
                    _f(x),
                    _f(y),
                    item.color,
                    item.name,
                    value_format(value),
                )
            )
    return _svg(width, height, label, _join(parts), css="chart-lines")


# --------------------------------------------------------------------------------------
# 100 % stacked horizontal bars (grade mix per channel)
# --------------------------------------------------------------------------------------


def share_chart(
    categories: Sequence[str],
    segments: Sequence[Series],
    *,
    label: str,
    empty_message: str,
) -> SafeString:
    """One bar per category split into the segments' shares; the total on the right."""
    width, row, top = 640, 28, 26
    if not categories or not segments:
        return _empty(width, 120, label, empty_message)
    left, right = 130, 56
    height = top + row * len(categories) + 6
    area = width - left - right
    parts = _legend(segments, left, 14)
    for index, category in enumerate(categories):
        y = top + index * row
        counts = [float(s.values[index] or 0) if index < len(s.values) else 0.0 for s in segments]
        total = sum(counts)
        parts.append(_text(left - 10, y + 17, _fit(category, 19), anchor="end"))
        parts.append(_rect(left, y + 5, area, 17, COLORS["track"]))
        cursor = left
        for item, count in zip(segments, counts, strict=False):
            if not total or not count:
                continue
            share = count / total
            parts.append(
                _rect(
                    cursor,
                    y + 5,
                    area * share,
                    17,
                    item.color,
                    title=f"{category} · {item.name}: {compact(count)} ({percent(share)})",
                )
            )
            if area * share > 34:
                parts.append(
                    _text(
                        cursor + area * share / 2,
                        y + 17.5,
                        percent(share, 0),
                        anchor="middle",
                        size=10.5,
                        color="#ffffff"
                        if item.color not in ("#f3c24b", "#c9ced6", "#e4e7ec")
                        else COLORS["text"],
                    )
                )
            cursor += area * share
        parts.append(_text(width - 4, y + 17, compact(total), anchor="end", color=COLORS["muted"]))
    return _svg(width, height, label, _join(parts), css="chart-share")


# --------------------------------------------------------------------------------------
# Grouped horizontal bars (cost vs revenue per channel or campaign: long names fit)
# --------------------------------------------------------------------------------------


def hbar_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    label: str,
    empty_message: str,
    value_format: Callable[[float | None], str] = compact,
) -> SafeString:
    """One row per category with one thin bar per series, the value at each bar's end."""
    width = 640
    if not categories or not series:
        return _empty(width, 140, label, empty_message)
    left, right, top, bar_h = 130, 56, 44, 10
    row = 10 + bar_h * len(series) + 2 * (len(series) - 1)
    height = top + row * len(categories) + 6
    values = [float(v) for s in series for v in s.values if v is not None]
    peak, ticks = axis(max([v for v in values if v > 0], default=0))
    value_format = in_one_unit(value_format, peak)
    area = width - left - right
    parts = _legend(series, left, 14)
    for tick in ticks:
        x = left + area * tick / peak
        parts.append(_line(x, top - 6, x, height - 4, COLORS["grid"]))
        parts.append(_text(x, top - 10, value_format(tick), anchor="middle", size=10.5))
    parts.append(_line(left, top - 6, left, height - 4, COLORS["axis"]))
    for index, category in enumerate(categories):
        y = top + index * row
        parts.append(_text(left - 10, y + row / 2 + 4, _fit(category, 19), anchor="end"))
        for position, item in enumerate(series):
            value = item.values[index] if index < len(item.values) else None
            if value is None:
                continue
            y_bar = y + 5 + position * (bar_h + 2)
            length = area * max(float(value), 0) / peak
            parts.append(
                _rect(
                    left,
                    y_bar,
                    length,
                    bar_h,
                    item.color,
                    title=f"{category} · {item.name}: {value_format(value)}",
                )
            )
            parts.append(
                _text(
                    left + length + 4,
                    y_bar + bar_h - 1,
                    value_format(value),
                    size=10,
                    color=COLORS["muted"],
                )
            )
    return _svg(width, height, label, _join(parts), css="chart-hbars")
