"""``cityloop evaluate``: score and rank units from a data file, print a summary, write results.

Thin adapter over ``cityloop.services.evaluation``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from cityloop.cli.common import console, guarded
from cityloop.datahub.units import Units
from cityloop.evaluation.result import EvaluationResult
from cityloop.i18n import current_language, pick, t
from cityloop.services import evaluation as service


def register(app: typer.Typer) -> None:
    """Add ``evaluate`` to ``app``."""
    app.command("evaluate", help=t("cli.eval.help"))(evaluate_cmd)


def evaluate_cmd(
    data: Annotated[Path, typer.Argument(help=t("cli.eval.arg.data"))],
    framework: Annotated[
        str, typer.Option(help=t("cli.eval.opt.framework"))
    ] = service.DEFAULT_FRAMEWORK,
    config: Annotated[Path | None, typer.Option(help=t("cli.eval.opt.config"))] = None,
    units: Annotated[Path | None, typer.Option(help=t("cli.eval.opt.units"))] = None,
    out: Annotated[Path | None, typer.Option(help=t("cli.eval.opt.out"))] = None,
    top: Annotated[int, typer.Option(help=t("cli.eval.opt.top"))] = 15,
) -> None:
    with guarded():
        unit_info = service.load_units(units)
        steps = ["read", "evaluate"] + (["write"] if out is not None else [])
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task(t("cli.eval.step.read"), total=len(steps))

            def step(name: str) -> None:
                bar.update(
                    task, description=t(f"cli.eval.step.{name}"), completed=steps.index(name)
                )

            result = service.evaluate(data, framework, config, unit_info, progress=step)
            if out is not None:
                step("write")
                service.write_results(result, out)
            bar.update(task, completed=len(steps))
        print_summary(result, top, unit_names(unit_info))
        if out is not None:
            console.print(t("cli.eval.written", path=str(out)))


def unit_names(units: Units | None) -> dict[str, str]:
    """Unit code → name in the current language (Chinese where no English name is given)."""
    if units is None:
        return {}
    names = units.table["name_zh"].astype(str)
    if current_language() == "en":
        names = units.table["name_en"].fillna(units.table["name_zh"]).astype(str)
    return {str(code): str(name) for code, name in names.items()}


def print_summary(result: EvaluationResult, top: int, names: dict[str, str]) -> None:
    summary = result.summary()
    title = pick(result.framework.spec.title.as_dict())
    table = Table(
        title=t(
            "cli.eval.summary_title",
            framework=title,
            year=result.cube.years[-1],
            count=len(summary),
        )
    )
    for key in ("rank", "unit", "name", "score", "change", "stage"):
        table.add_column(
            t(f"cli.eval.col.{key}"),
            justify="right" if key in {"rank", "score", "change"} else "left",
        )
    for rank, unit, score, change, stage in summary.head(top)[
        ["rank", "unit", "score", "change", "stage"]
    ].itertuples(index=False, name=None):
        table.add_row(
            str(rank),
            str(unit),
            names.get(str(unit), ""),
            f"{float(score):.2f}",
            "" if np.isnan(change) else f"{float(change):+.2f}",
            str(stage),
        )
    console.print(table)
    excluded = int((~result.kept).sum())
    if excluded:
        console.print(
            t("cli.eval.excluded", count=excluded, min_coverage=result.config.min_coverage)
        )
    for key in result.warnings:
        console.print(f"[yellow]! {t(key)}[/]")
    p = result.provenance
    console.print(
        t(
            "cli.eval.provenance",
            data_hash=p["data_hash"][:12],
            framework=p["framework_id"],
            version=p["framework_version"],
            cityloop=p["cityloop_version"],
        ),
        style="dim",
    )
