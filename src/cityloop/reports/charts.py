"""Charts as data: one specification per figure, turned into an Apache ECharts option for the
interactive HTML report (here) and into a static image for PDF and Word (``chart_image``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ChartKind(StrEnum):
    """The chart types the reports draw."""

    BAR = "bar"  # categories along x, one bar per series
    BARH = "barh"  # long category names (rankings): categories down the y axis
    LINE = "line"  # series over ordered categories (years)
    STACKED = "stacked"  # bars whose series add up (budget by phase)
    SPAN = "span"  # a horizontal bar from series[0] to series[1] per category (Gantt, CI)


@dataclass(frozen=True)
class Series:
    """One named series; ``None`` where a category has no value."""

    name: str
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class ReferenceLine:
    """A labelled constant line across the value axis (a stage threshold, a target)."""

    label: str
    value: float


@dataclass(frozen=True)
class Chart:
    """What a figure shows; the renderers decide how it looks.

    For ``SPAN`` the first two series are the starts and the ends, an optional third the
    points marked inside the spans (an estimate inside its confidence interval), and
    ``groups`` colours the spans (the phase of each project).
    """

    kind: ChartKind
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    value_label: str = ""
    references: tuple[ReferenceLine, ...] = ()
    groups: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        wrong = [s.name for s in self.series if len(s.values) != len(self.categories)]
        short = self.kind is ChartKind.SPAN and len(self.series) < 2
        mismatched = bool(self.groups) and len(self.groups) != len(self.categories)
        if wrong or short or mismatched:
            # a report builder's bug, never user input
            raise ValueError(f"chart {self.kind}: series {wrong} / span {short} / groups")


PALETTE = ("#1f5fa8", "#d9822b", "#2e9e6a", "#c23b3b", "#7b5ea7", "#8a8a8a", "#3aa5b8")


def _reference_marks(chart: Chart) -> dict[str, Any]:
    lines = [{"yAxis" if chart.kind is not ChartKind.BARH else "xAxis": r.value, "name": r.label}
             for r in chart.references]  # fmt: skip
    return {"markLine": {"symbol": "none", "data": lines, "label": {"formatter": "{b}"}}}


def echarts_option(chart: Chart) -> dict[str, Any]:
    """The ECharts option drawing ``chart`` (SVG renderer, no animation for print)."""
    categories = {"type": "category", "data": list(chart.categories)}
    values = {"type": "value", "name": chart.value_label}
    option: dict[str, Any] = {
        "color": list(PALETTE),
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "grid": {"containLabel": True},
    }
    if chart.kind is ChartKind.SPAN:
        return option | _span_option(chart, categories, values)
    horizontal = chart.kind is ChartKind.BARH
    series: list[dict[str, Any]] = [
        {"name": s.name, "type": "line" if chart.kind is ChartKind.LINE else "bar",
         "data": list(s.values), **({"stack": "total"} if chart.kind is ChartKind.STACKED else {})}
        for s in chart.series
    ]  # fmt: skip
    if chart.references and series:
        series[0] |= _reference_marks(chart)
    return option | {
        "legend": {"show": len(chart.series) > 1},
        "xAxis": values if horizontal else categories,
        "yAxis": (categories | {"inverse": True}) if horizontal else values,
        "series": series,
    }


def _span_option(
    chart: Chart, categories: dict[str, Any], values: dict[str, Any]
) -> dict[str, Any]:
    """Floating bars: an invisible bar up to the start, a visible one of the span's length."""
    starts, ends = chart.series[0].values, chart.series[1].values
    lengths = [None if s is None or e is None else e - s for s, e in zip(starts, ends, strict=True)]
    groups = chart.groups or ("",) * len(chart.categories)
    colour = {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(dict.fromkeys(groups))}
    series: list[dict[str, Any]] = [
        {"type": "bar", "stack": "span", "data": list(starts), "silent": True,
         "itemStyle": {"color": "transparent"}, "tooltip": {"show": False}},
        {"type": "bar", "stack": "span", "name": chart.series[1].name,
         "data": [{"value": v, "itemStyle": {"color": colour[g]}}
                  for v, g in zip(lengths, groups, strict=True)]},
    ]  # fmt: skip
    if len(chart.series) > 2:
        marks = chart.series[2]
        points = [[v, c] for v, c in zip(marks.values, chart.categories, strict=True)]
        series.append({"type": "scatter", "name": marks.name, "data": points,
                       "itemStyle": {"color": "#000"}})  # fmt: skip
    low = min((s for s in starts if s is not None), default=0.0)
    return {
        "legend": {"show": False},
        "xAxis": values | {"min": low},
        "yAxis": categories | {"inverse": True},
        "series": series,
    }
