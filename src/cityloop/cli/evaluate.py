"""``cityloop evaluate``: score and rank units from a data file, print a summary, write results.

Thin adapter over ``cityloop.services.evaluation``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from cityloop.cli.common import console, guarded
from cityloop.evaluation.result import EvaluationResult
from cityloop.i18n import pick, t
from cityloop.services import evaluation as service


def register(app: typer.Typer) -> None:
    """Add ``evaluate`` to ``app``."""
    app.command("evaluate", help=t("cli.eval.help"))(evaluate_cmd)


def evaluate_cmd(
    data: Annotated[Path, typer.Argument(help=t("cli.eval.arg.data"))],
    framework: Annotated[str, typer.Option(help=t("cli.eval.opt.framework"))] = "gbt33356-2022",
    config: Annotated[Path | None, typer.Option(help=t("cli.eval.opt.config"))] = None,
    units: Annotated[Path | None, typer.Option(help=t("cli.eval.opt.units"))] = None,
    out: Annotated[Path | None, typer.Option(help=t("cli.eval.opt.out"))] = None,
    top: Annotated[int, typer.Option(help=t("cli.eval.opt.top"))] = 15,
) -> None:
    with guarded():
        unit_info = service.load_units(units)
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=console, transient=True) as bar:
            task = bar.add_task(t("cli.eval.step.read"), total=None)

            def step(name: str) -> None:
                bar.update(task, description=t(f"cli.eval.step.{name}"))

            result = service.evaluate(data, framework, config, unit_info, progress=step)
            if out is not None:
                step("write")
                service.write_results(result, out)
        names = (unit_info.table["name_en"].fillna(unit_info.table["name_zh"])
                 if unit_info is not None and console_lang_is_en() else
                 unit_info.table["name_zh"] if unit_info is not None else None)
        print_summary(result, top, names.to_dict() if names is not None else {})
        if out is not None:
            console.print(t("cli.eval.written", path=str(out)))


def console_lang_is_en() -> bool:
    from cityloop.i18n import current_language

    return current_language() == "en"


def print_summary(result: EvaluationResult, top: int, names: dict[str, str]) -> None:
    summary = result.summary()
    title = pick(result.framework.spec.title.as_dict())
    table = Table(title=t("cli.eval.summary_title", framework=title,
                          year=result.cube.years[-1], count=len(summary)))
    for key in ("rank", "unit", "name", "score", "change", "stage"):
        table.add_column(t(f"cli.eval.col.{key}"),
                         justify="right" if key in {"rank", "score", "change"} else "left")
    for row in summary.head(top).itertuples(index=False):
        change = "" if row.change != row.change else f"{row.change:+.2f}"
        table.add_row(str(row.rank), str(row.unit), str(names.get(str(row.unit), "")),
                      f"{row.score:.2f}", change, str(row.stage))
    console.print(table)
    excluded = int((~result.kept).sum())
    if excluded:
        console.print(t("cli.eval.excluded", count=excluded,
                        min_coverage=result.config.min_coverage))
    for key in result.warnings:
        console.print(f"[yellow]! {t(key)}[/]")
    p = result.provenance
    console.print(t("cli.eval.provenance", data_hash=p["data_hash"][:12],
                    framework=p["framework_id"], version=p["framework_version"],
                    cityloop=p["cityloop_version"]), style="dim")
