"""Reports sent to the browser: HTML shown in place, the other formats saved under their UTF-8
file name, and never kept by a shared cache (a report holds what its reader may see)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi.responses import Response

from cityloop.services.report_files import ReportFile


def content_disposition(disposition: str, name: str, fallback: str) -> str:
    """The header naming the file: an ASCII ``filename`` for old clients and the UTF-8 name as
    ``filename*`` (RFC 6266 with the RFC 5987 encoding), so Chinese names survive."""
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def download(report: ReportFile) -> Response:
    """``report`` as the answer: inline when it is HTML, an attachment otherwise."""
    inline = report.media_type.startswith("text/html")
    header = content_disposition("inline" if inline else "attachment", report.filename,
                                 report.fallback)  # fmt: skip
    headers = {"Content-Disposition": header, "Cache-Control": "private, no-store"}
    return Response(report.content, media_type=report.media_type, headers=headers)
