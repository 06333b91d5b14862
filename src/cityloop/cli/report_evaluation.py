"""``cityloop report city|province``: the city and the province evaluation reports as PDF, Word,
Excel or HTML files, from the configured database (thin adapter over ``services.report_*``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from cityloop.cli.common import console, guarded
from cityloop.i18n import t
from cityloop.reports import Document
from cityloop.services import store
from cityloop.services.report_city import city_report
from cityloop.services.report_evaluation import evaluation_file
from cityloop.services.report_files import report_format, report_language, save_report
from cityloop.services.report_province import province_report
from cityloop.store import Database

RunOption = Annotated[int | None, typer.Option("--run", help=t("repcity.cli.opt.run"))]
YearOption = Annotated[int | None, typer.Option("--year", help=t("repcity.cli.opt.year"))]
LangOption = Annotated[str, typer.Option("--lang", help=t("repcity.cli.opt.lang"))]
FormatOption = Annotated[str, typer.Option("--format", help=t("repcity.cli.opt.format"))]
OutOption = Annotated[Path | None, typer.Option("--out", help=t("repcity.cli.opt.out"))]


def register_report(app: typer.Typer) -> None:
    """Add ``city`` and ``province`` to the ``cityloop report`` group."""
    app.command("city", help=t("repcity.cli.city_help"))(city_cmd)
    app.command("province", help=t("repcity.cli.province_help"))(province_cmd)


def write_report(
    kind: str,
    code: str,
    fmt_text: str,
    lang_text: str,
    out: Path | None,
    build: Callable[[Database, str], Document],
) -> None:
    """Build a report with ``build(db, lang)``, render it and write it atomically to ``out``."""
    with guarded():
        fmt, lang = report_format(fmt_text), report_language(lang_text)
        report = evaluation_file(kind, code, build(store.open_database(), lang), fmt)
        target = save_report(report, out)
    console.print(t("repcity.cli.written", path=str(target), size=len(report.content)))


def city_cmd(
    code: Annotated[str, typer.Argument(help=t("repcity.cli.arg.city"))],
    run: RunOption = None,
    year: YearOption = None,
    lang: LangOption = "zh-CN",
    fmt: FormatOption = "pdf",
    out: OutOption = None,
) -> None:
    write_report(
        "city",
        code,
        fmt,
        lang,
        out,
        lambda db, chosen: city_report(db, code, run_id=run, year=year, lang=chosen),
    )


def province_cmd(
    code: Annotated[str, typer.Argument(help=t("repcity.cli.arg.province"))],
    run: RunOption = None,
    year: YearOption = None,
    lang: LangOption = "zh-CN",
    fmt: FormatOption = "pdf",
    out: OutOption = None,
) -> None:
    write_report(
        "province",
        code,
        fmt,
        lang,
        out,
        lambda db, chosen: province_report(db, code, run_id=run, year=year, lang=chosen),
    )
