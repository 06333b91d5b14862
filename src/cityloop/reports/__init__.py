"""Reports from the platform's own results: a format-free document model and its renderers to
interactive HTML, PDF (WeasyPrint, CJK font embedded), Word (python-docx) and Excel."""

from collections.abc import Callable
from enum import StrEnum

from cityloop.reports.charts import Chart, ChartKind, ReferenceLine, Series
from cityloop.reports.document import (
    Block,
    BulletList,
    Column,
    ColumnKind,
    Document,
    Figure,
    Heading,
    PageBreak,
    Paragraph,
    Table,
)
from cityloop.reports.render_docx import render_docx
from cityloop.reports.render_html import render_html
from cityloop.reports.render_pdf import render_pdf
from cityloop.reports.render_xlsx import render_xlsx


class ReportFormat(StrEnum):
    """The formats every report is delivered in."""

    HTML = "html"
    PDF = "pdf"
    DOCX = "docx"
    XLSX = "xlsx"

    @property
    def media_type(self) -> str:
        """The HTTP content type of the format."""
        return MEDIA_TYPES[self]


MEDIA_TYPES = {
    ReportFormat.HTML: "text/html; charset=utf-8",
    ReportFormat.PDF: "application/pdf",
    ReportFormat.DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ReportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

_RENDERERS: dict[ReportFormat, Callable[[Document], bytes]] = {
    ReportFormat.HTML: lambda doc: render_html(doc).encode("utf-8"),
    ReportFormat.PDF: render_pdf,
    ReportFormat.DOCX: render_docx,
    ReportFormat.XLSX: render_xlsx,
}


def render(doc: Document, fmt: ReportFormat) -> bytes:
    """``doc`` in ``fmt``, as the bytes of the file."""
    return _RENDERERS[fmt](doc)


__all__ = [
    "Block",
    "BulletList",
    "Chart",
    "ChartKind",
    "Column",
    "ColumnKind",
    "Document",
    "Figure",
    "Heading",
    "PageBreak",
    "Paragraph",
    "ReferenceLine",
    "ReportFormat",
    "Series",
    "Table",
    "render",
    "render_docx",
    "render_html",
    "render_pdf",
    "render_xlsx",
]
