"""The document model every report is built in: headings, paragraphs, lists, numbered tables
and figures, with no format in it; the renderers turn one document into HTML, PDF, DOCX, XLSX.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from cityloop.reports.charts import Chart


class ColumnKind(StrEnum):
    """How a table column's values are written: as text or as numbers with fixed decimals."""

    TEXT = "text"
    NUMBER = "number"
    INTEGER = "integer"
    PERCENT = "percent"  # a share 0–1 written as a percentage


@dataclass(frozen=True)
class Column:
    """A table column: its header, kind and (for numbers) decimals."""

    label: str
    kind: ColumnKind = ColumnKind.TEXT
    decimals: int = 2

    def text(self, value: object) -> str:
        """``value`` written for a reader: ``—`` for a missing one, numbers with the column's
        decimals (and thousands separators), percentages from shares."""
        if value is None or (isinstance(value, float) and value != value):
            return "—"
        if self.kind is ColumnKind.TEXT or isinstance(value, str):
            return str(value)
        number = float(value)  # type: ignore[arg-type]  # a number column holds numbers
        if self.kind is ColumnKind.INTEGER:
            return f"{round(number):,d}"
        if self.kind is ColumnKind.PERCENT:
            return f"{number * 100:,.{self.decimals}f} %"
        return f"{number:,.{self.decimals}f}"


Cell = str | float | int | None


@dataclass(frozen=True)
class Heading:
    """A section heading; level 1 is a chapter, 2 a section, 3 a subsection."""

    text: str
    level: int = 1


@dataclass(frozen=True)
class Paragraph:
    """Body text; ``note`` paragraphs are set smaller (sources, method notes, disclaimers)."""

    text: str
    note: bool = False


@dataclass(frozen=True)
class BulletList:
    """An unnumbered list of short items."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A numbered table with a caption; ``key`` names its sheet in the workbook export."""

    caption: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    key: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        wrong = [i for i, row in enumerate(self.rows, start=1) if len(row) != len(self.columns)]
        if wrong:
            # a builder bug, not user input: every row must fill every column
            raise ValueError(f"table {self.caption!r}: rows {wrong} do not match the columns")

    def texts(self) -> list[list[str]]:
        """Every cell written as its column writes it."""
        return [[c.text(v) for c, v in zip(self.columns, row, strict=True)] for row in self.rows]


@dataclass(frozen=True)
class Figure:
    """A numbered figure: a chart and its caption."""

    caption: str
    chart: Chart


@dataclass(frozen=True)
class PageBreak:
    """Start a new page in the paged formats (PDF, DOCX); ignored on screen."""


Block = Heading | Paragraph | BulletList | Table | Figure | PageBreak


@dataclass(frozen=True)
class Document:
    """A whole report: title page facts and the blocks in reading order.

    ``facts`` are the (label, value) pairs under the title (city, year, framework, data
    snapshot); ``lang`` is the language the text was written in (``zh-CN`` or ``en``).
    """

    title: str
    lang: str
    issued: date
    subtitle: str = ""
    facts: tuple[tuple[str, str], ...] = ()
    blocks: tuple[Block, ...] = field(default_factory=tuple)

    def tables(self) -> Iterator[tuple[int, Table]]:
        """The tables with their numbers (1, 2, …), in order."""
        yield from enumerate((b for b in self.blocks if isinstance(b, Table)), start=1)

    def figures(self) -> Iterator[tuple[int, Figure]]:
        """The figures with their numbers (1, 2, …), in order."""
        yield from enumerate((b for b in self.blocks if isinstance(b, Figure)), start=1)

    def numbered(self) -> Iterator[tuple[Block, int | None]]:
        """Every block with its table or figure number (``None`` for other blocks)."""
        tables = figures = 0
        for block in self.blocks:
            if isinstance(block, Table):
                tables += 1
                yield block, tables
            elif isinstance(block, Figure):
                figures += 1
                yield block, figures
            else:
                yield block, None
