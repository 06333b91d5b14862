"""``cityloop report plan PLAN_ID``: the top-level design document (顶层设计方案) of a saved plan
as PDF, Word, Excel or HTML. Thin adapter over ``services.report_plan.plan_report_file``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from cityloop.cli.common import console, guarded
from cityloop.i18n import current_language, t
from cityloop.services import store
from cityloop.services.report_files import save_report
from cityloop.services.report_plan import plan_report_file


def register_report(report_app: typer.Typer) -> None:
    """Add ``plan`` to ``cityloop report``."""
    report_app.command("plan", help=t("repplan.cli.help"))(plan_cmd)


def plan_cmd(
    plan_id: Annotated[int, typer.Argument(help=t("repplan.cli.arg_plan"))],
    fmt: Annotated[str, typer.Option("--format", help=t("repplan.cli.opt_format"))] = "pdf",
    lang: Annotated[str | None, typer.Option("--lang", help=t("repplan.cli.opt_lang"))] = None,
    out: Annotated[Path | None, typer.Option("--out", help=t("repplan.cli.opt_out"))] = None,
) -> None:
    with guarded():
        db = store.open_database()
        try:
            report = plan_report_file(db, plan_id, fmt, lang=lang or current_language())
        finally:
            db.dispose()
        target = save_report(report, out)
    console.print(escape(t("repplan.cli.written", path=str(target), size=len(report.content))))
