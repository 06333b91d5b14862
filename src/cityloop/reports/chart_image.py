"""Static pictures of the report charts for the paged formats: SVG for PDF (text stays text,
so it can be searched and copied) and PNG for Word, drawn by Matplotlib in a CJK font.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

import matplotlib as mpl
import numpy as np
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.figure import Figure as MplFigure
from matplotlib.patches import Rectangle

from cityloop.reports.charts import PALETTE, Chart, ChartKind

# The CJK font the test command installs (Debian fonts-noto-cjk); DejaVu for what it lacks.
FONT_FAMILY = ("Noto Sans CJK SC", "DejaVu Sans")
SIZE_INCHES = (6.3, 3.4)  # the text width of an A4 page with 2.5 cm margins
MAX_LABELS = 12  # time labels (years, months) a page width holds; more are thinned
MAX_MARKERS = 24  # a line with more points is drawn without a marker on each


@contextmanager
def _style() -> Iterator[None]:
    with mpl.rc_context({"font.family": list(FONT_FAMILY), "font.size": 9,
                         "svg.fonttype": "none", "axes.spines.top": False,
                         "axes.spines.right": False, "axes.prop_cycle": cycler(color=PALETTE),
                         "axes.unicode_minus": False}):  # fmt: skip
        yield


def _values(values: tuple[float | None, ...]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _category_axis(ax: Axes, positions: np.ndarray, categories: tuple[str, ...]) -> None:
    """Label a time axis (line and stacked charts): every category up to ``MAX_LABELS``, else
    every k-th one and the last (a monthly curve over five years still reads), slanted past
    six."""
    step = -(-len(categories) // MAX_LABELS)
    shown = np.unique(np.append(positions[::step], positions[-1:]))
    ax.set_xticks(shown, [categories[i] for i in shown], rotation=30 if len(shown) > 6 else 0)


def _draw(chart: Chart, ax: Axes) -> None:
    positions = np.arange(len(chart.categories))
    if chart.kind is ChartKind.SPAN:
        _draw_span(chart, ax, positions)
    elif chart.kind is ChartKind.LINE:
        marker = "o" if len(positions) <= MAX_MARKERS else None
        for series in chart.series:
            ax.plot(positions, _values(series.values), marker=marker, label=series.name)
        _category_axis(ax, positions, chart.categories)
    elif chart.kind is ChartKind.STACKED:
        bottom = np.zeros(len(positions))
        for series in chart.series:
            height = np.nan_to_num(_values(series.values))
            ax.bar(positions, height, bottom=bottom, label=series.name)
            bottom += height
        _category_axis(ax, positions, chart.categories)
    else:
        width = 0.8 / max(len(chart.series), 1)
        for k, series in enumerate(chart.series):
            offset = positions + (k - (len(chart.series) - 1) / 2) * width
            if chart.kind is ChartKind.BARH:
                ax.barh(offset, _values(series.values), height=width, label=series.name)
            else:
                ax.bar(offset, _values(series.values), width=width, label=series.name)
        if chart.kind is ChartKind.BARH:
            ax.set_yticks(positions, chart.categories)
            ax.invert_yaxis()
        else:  # each bar is a named thing (a city, a dimension): every bar keeps its label
            ax.set_xticks(positions, chart.categories, rotation=30 if len(positions) > 6 else 0)
    horizontal = chart.kind in (ChartKind.BARH, ChartKind.SPAN)
    for line in chart.references:
        (ax.axvline if horizontal else ax.axhline)(line.value, color="#8a8a8a", lw=0.8, ls="--")
        ax.annotate(line.label, (line.value, 0) if horizontal else (0, line.value),
                    xycoords=("data", "axes fraction") if horizontal else ("axes fraction", "data"),
                    fontsize=7, color="#555555")  # fmt: skip
    (ax.set_xlabel if horizontal else ax.set_ylabel)(chart.value_label)
    if len(chart.series) > 1 and chart.kind is not ChartKind.SPAN:
        ax.legend(frameon=False, fontsize=8)


def _draw_span(chart: Chart, ax: Axes, positions: np.ndarray) -> None:
    starts, ends = _values(chart.series[0].values), _values(chart.series[1].values)
    groups = chart.groups or ("",) * len(chart.categories)
    colour = {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(dict.fromkeys(groups))}
    ax.barh(positions, ends - starts, left=starts, color=[colour[g] for g in groups], height=0.6)
    if len(chart.series) > 2:
        ax.plot(_values(chart.series[2].values), positions, "o", color="#000000", ms=3)
    ax.set_yticks(positions, chart.categories)
    ax.invert_yaxis()
    if chart.groups:
        handles = [Rectangle((0, 0), 1, 1, color=c) for c in colour.values()]
        ax.legend(handles, list(colour), frameon=False, fontsize=8)


def _figure(chart: Chart) -> MplFigure:
    rows = len(chart.categories) if chart.kind in (ChartKind.BARH, ChartKind.SPAN) else 0
    height = max(SIZE_INCHES[1], 0.28 * rows + 0.8)
    fig = MplFigure(figsize=(SIZE_INCHES[0], height), layout="constrained")
    _draw(chart, fig.add_subplot())
    return fig


def chart_svg(chart: Chart) -> str:
    """``chart`` as an SVG document whose text is text (searchable in the PDF)."""
    with _style():
        buffer = io.StringIO()
        _figure(chart).savefig(buffer, format="svg")
    return buffer.getvalue()


def chart_png(chart: Chart, dpi: int = 200) -> bytes:
    """``chart`` as a PNG picture for Word."""
    with _style():
        buffer = io.BytesIO()
        _figure(chart).savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
