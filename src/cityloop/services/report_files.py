"""Reports as files: the format and language a reader asked for, checked, and a document
rendered into the bytes, file names and content type that a download or the CLI writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cityloop.errors import InputError
from cityloop.i18n import normalise_language
from cityloop.reports import Document, ReportFormat, render, render_html
from cityloop.services.files import write_atomically


@dataclass(frozen=True)
class ReportFile:
    """A rendered report: its bytes, the file name in the report's language, the same name in
    English (for clients that cannot read a UTF-8 file name) and the HTTP content type."""

    content: bytes
    filename: str
    fallback: str
    media_type: str


def report_format(value: str) -> ReportFormat:
    """The format a reader asked for (``pdf``, ``DOCX`` …); another is refused, naming the
    choices."""
    try:
        return ReportFormat(value.strip().lower())
    except ValueError:
        known = ", ".join(f.value for f in ReportFormat)
        raise InputError("report.bad_format", format=value, known=known) from None


def report_language(value: str) -> str:
    """zh-CN or en from the reader's spelling (zh, zh_CN, EN …); another is refused."""
    try:
        return normalise_language(value)
    except ValueError:
        raise InputError("report.bad_language", lang=value) from None


def report_file(
    doc: Document, fmt: ReportFormat, filename: str, fallback: str, *, served: bool = False
) -> ReportFile:
    """``doc`` rendered as ``fmt``; ``served`` HTML loads its scripts from the web app (whose
    content security policy forbids inline scripts) instead of carrying them."""
    if fmt is ReportFormat.HTML:
        content = render_html(doc, served=served).encode("utf-8")
    else:
        content = render(doc, fmt)
    return ReportFile(content, filename, fallback, fmt.media_type)


def save_report(report: ReportFile, out: Path | None) -> Path:
    """Write ``report`` to ``out`` (default: its own file name in the working folder) whole or
    not at all; the path written."""

    def write(tmp: Path) -> None:
        tmp.write_bytes(report.content)

    return write_atomically(out or Path(report.filename), write)
