"""``cityloop template`` and ``cityloop check-data``: collect indicator values and check them.

Thin adapter over ``cityloop.services.data``.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cityloop.cli.common import console, guarded
from cityloop.i18n import current_language, t
from cityloop.services import data as service


def register(app: typer.Typer) -> None:
    """Add ``template`` and ``check-data`` to ``app``."""
    app.command("template", help=t("cli.data.template.help"))(template_cmd)
    app.command("check-data", help=t("cli.data.check.help"))(check_data_cmd)


def template_cmd(
    framework: Annotated[str, typer.Option(help=t("cli.data.opt.framework"))],
    out: Annotated[Path, typer.Option(help=t("cli.data.opt.out"))],
    department: Annotated[str | None, typer.Option(help=t("cli.data.opt.department"))] = None,
    units: Annotated[Path | None, typer.Option(help=t("cli.data.opt.units"))] = None,
    years: Annotated[str | None, typer.Option(help=t("cli.data.opt.years"))] = None,
    year: Annotated[list[int] | None, typer.Option(help=t("cli.data.opt.year"))] = None,
) -> None:
    chosen = sorted({*parse_years(years), *(year or [])}) or [date.today().year - 1]
    with guarded():
        path = service.make_template(
            out,
            framework,
            department=department,
            units_path=units,
            years=chosen,
            lang=current_language(),
        )
        console.print(t("cli.data.written", path=str(path)))


def check_data_cmd(
    data: Annotated[Path, typer.Argument(help=t("cli.data.arg.data"))],
    framework: Annotated[str, typer.Option(help=t("cli.data.opt.framework"))],
    units: Annotated[Path | None, typer.Option(help=t("cli.data.opt.units"))] = None,
) -> None:
    with guarded():
        summary = service.check_values(data, framework, units)
        table = Table(title=t("cli.data.summary_title"), show_header=False)
        table.add_column()
        table.add_column(justify="right")
        years = summary.years
        span = f"{years[0]}–{years[-1]}" if len(years) > 1 else str(years[0])
        rows = {
            "rows": f"{summary.rows:,}",
            "units": f"{summary.units:,}",
            "years": f"{span} ({len(years)})",
            "indicators": f"{summary.indicators} / {summary.framework_indicators}",
            "coverage": f"{summary.coverage:.1%}",
        }
        if summary.without_data:
            rows["without_data"] = ", ".join(summary.without_data)
        for key, value in rows.items():
            table.add_row(t(f"cli.data.label.{key}"), value)
        console.print(t("cli.data.valid", file=str(data)))
        console.print(table)


def parse_years(text: str | None) -> list[int]:
    """'2024', '2024,2025', '2024 2025' or '2023-2025' → the years; refuse anything else."""
    if text is None:
        return []
    out: list[int] = []
    for part in re.split(r"[,，\s]+", text.strip()):
        span = re.fullmatch(r"(\d{4})\s*[-–~]\s*(\d{4})", part)
        if span:
            out.extend(range(int(span[1]), int(span[2]) + 1))
        elif re.fullmatch(r"\d{4}", part):
            out.append(int(part))
        else:
            raise typer.BadParameter(t("cli.data.bad_years", value=text), param_hint="--years")
    return out
