"""``cityloop report supervision CITY``: the supervision bulletin (建设监督通报) of a city's
programme as PDF, Word, Excel or HTML. Thin adapter over ``services.report_supervision``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from cityloop.cli.common import console, guarded
from cityloop.errors import InputError
from cityloop.i18n import current_language, t
from cityloop.services import store
from cityloop.services.report_files import save_report
from cityloop.services.report_supervision import supervision_report_file


def register_report(report_app: typer.Typer) -> None:
    """Add ``supervision`` to ``cityloop report``."""
    report_app.command("supervision", help=t("repsup.cli.help"))(supervision_cmd)


def _day(text: str | None) -> date:
    """``--as-of`` as a date (today when absent); a clear error naming the option otherwise."""
    if not text:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError("repsup.cli.bad_date", option="--as-of", value=text) from None


def supervision_cmd(
    city: Annotated[str, typer.Argument(help=t("repsup.cli.arg_city"))],
    as_of: Annotated[str | None, typer.Option("--as-of", help=t("repsup.cli.opt_as_of"))] = None,
    outcome: Annotated[
        int | None, typer.Option("--outcome", help=t("repsup.cli.opt_outcome"))
    ] = None,
    lang: Annotated[str | None, typer.Option("--lang", help=t("repsup.cli.opt_lang"))] = None,
    fmt: Annotated[str, typer.Option("--format", help=t("repsup.cli.opt_format"))] = "pdf",
    out: Annotated[Path | None, typer.Option("--out", help=t("repsup.cli.opt_out"))] = None,
) -> None:
    with guarded():
        day = _day(as_of)
        db = store.open_database()
        try:
            report = supervision_report_file(
                db, city, day, fmt, outcome_id=outcome, lang=lang or current_language()
            )
        finally:
            db.dispose()
        target = save_report(report, out)
    console.print(escape(t("repsup.cli.written", path=str(target), size=len(report.content))))
