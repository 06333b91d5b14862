"""A report document as a PDF: the paged HTML laid out by WeasyPrint on A4, the CJK font
embedded (subset) so the Chinese text prints and copies on any machine.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from weasyprint import HTML  # type: ignore[import-untyped]  # WeasyPrint ships no types

from cityloop.reports.document import Document
from cityloop.reports.render_html import render_html

# Every PDF is laid out on this one thread. Layout allocates heavily, and a server renders from
# many request threads: each kept its own malloc arena at its peak, so memory climbed with every
# new thread that rendered (measured: four PDFs at a time from a pool took a process from 290 to
# 716 MB, on this one thread to 390 MB, flat after that). Layout is mostly Python under the GIL,
# so two at a time were hardly faster than one after the other.
_LAYOUT = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cityloop-pdf")


def _new_layout_thread() -> None:
    # A forked child inherits the executor but not its thread: it would wait forever.
    global _LAYOUT
    _LAYOUT = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cityloop-pdf")


os.register_at_fork(after_in_child=_new_layout_thread)


def render_pdf(doc: Document) -> bytes:
    """``doc`` as PDF bytes (A4, page numbers, static charts whose text stays text)."""
    return _LAYOUT.submit(_write_pdf, render_html(doc, paged=True)).result()


def _write_pdf(html: str) -> bytes:
    pdf = HTML(string=html).write_pdf()
    assert isinstance(pdf, bytes), "WeasyPrint returns the bytes when given no target"
    return pdf
