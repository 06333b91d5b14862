"""A report document as a PDF: the paged HTML laid out by WeasyPrint on A4, the CJK font
embedded (subset) so the Chinese text prints and copies on any machine.
"""

from __future__ import annotations

from weasyprint import HTML  # type: ignore[import-untyped]  # WeasyPrint ships no types

from cityloop.reports.document import Document
from cityloop.reports.render_html import render_html


def render_pdf(doc: Document) -> bytes:
    """``doc`` as PDF bytes (A4, page numbers, static charts whose text stays text)."""
    pdf = HTML(string=render_html(doc, paged=True)).write_pdf()
    assert isinstance(pdf, bytes), "WeasyPrint returns the bytes when given no target"
    return pdf
