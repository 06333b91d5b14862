"""``cityloop uncertainty``: how robust a ranking is, for data files or a stored run, with a
progress bar, the robustness summary and the Sobol table; optionally on a Dask cluster.

Thin adapter over ``cityloop.services.uncertainty``; the database (for ``--run``) comes from
``CITYLOOP_DATABASE_URL``. The command line sees every region.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cityloop.cli.common import console, guarded
from cityloop.errors import InputError
from cityloop.i18n import t
from cityloop.services import store as store_service
from cityloop.services import uncertainty as service
from cityloop.services.evaluation import DEFAULT_FRAMEWORK


def register(app: typer.Typer) -> None:
    """Add ``uncertainty`` to ``app``."""
    app.command("uncertainty", help=t("rob.cli.help"))(uncertainty_cmd)


def uncertainty_cmd(
    data: Annotated[Path | None, typer.Argument(help=t("rob.cli.arg.data"))] = None,
    run: Annotated[int | None, typer.Option("--run", help=t("rob.cli.opt.run"))] = None,
    framework: Annotated[str, typer.Option(help=t("rob.cli.opt.framework"))] = DEFAULT_FRAMEWORK,
    config: Annotated[Path | None, typer.Option(help=t("rob.cli.opt.config"))] = None,
    units: Annotated[Path | None, typer.Option(help=t("rob.cli.opt.units"))] = None,
    spec: Annotated[Path | None, typer.Option(help=t("rob.cli.opt.spec"))] = None,
    replications: Annotated[int | None, typer.Option(help=t("rob.cli.opt.replications"))] = None,
    seed: Annotated[int | None, typer.Option(help=t("rob.cli.opt.seed"))] = None,
    scheduler: Annotated[str | None, typer.Option(help=t("rob.cli.opt.scheduler"))] = None,
    out: Annotated[Path | None, typer.Option(help=t("rob.cli.opt.out"))] = None,
    top: Annotated[int, typer.Option(help=t("rob.cli.opt.top"))] = 15,
) -> None:
    with guarded():
        if (data is None) == (run is None):
            raise InputError("rob.cli.data_or_run")
        if out is not None and out.suffix.lower() != ".xlsx":
            raise InputError("rob.export_suffix", suffix=out.suffix)
        chosen = service.read_spec(spec, replications=replications, seed=seed)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task(t("rob.cli.progress"), total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            if run is not None:
                db = store_service.open_database()
                analysis = service.analyse_run(
                    db, run, chosen, scheduler=scheduler, progress=progress
                )
            else:
                assert data is not None  # one of the two, checked above
                analysis = service.analyse_files(
                    data, framework, config, units, chosen, scheduler=scheduler, progress=progress
                )
        print_summary(analysis, top)
        if out is not None:
            service.write_robustness(analysis, out)
            console.print(t("rob.cli.written", path=str(out)))


def print_summary(analysis: service.Robustness, top: int) -> None:
    """The best ``top`` units with their rank intervals, then the Sobol indices."""
    result = analysis.result
    summary = analysis.summary()
    table = Table(
        title=t(
            "rob.cli.summary_title",
            year=result.year,
            replications=result.replications,
            top_k=result.spec.top_k,
        )
    )
    for key in ("point_rank", "unit", "name", "median_rank", "interval", "p_top_k", "p_stage"):
        table.add_column(
            t(f"rob.col.{key}"), justify="left" if key in ("unit", "name") else "right"
        )
    head = summary.head(top)
    numbers = {
        key: head[key].to_numpy(dtype=np.float64)
        for key in ("median_rank", "rank_p05", "rank_p95", "p_top_k", "p_stage_change")
    }
    labels = zip(head["point_rank"], head["unit"], head["name"], strict=True)
    for i, (rank, unit, name) in enumerate(labels):
        table.add_row(
            str(rank) if rank else "—",
            str(unit),
            str(name),
            whole(numbers["median_rank"][i]),
            f"{whole(numbers['rank_p05'][i])}–{whole(numbers['rank_p95'][i])}",
            percent(numbers["p_top_k"][i]),
            percent(numbers["p_stage_change"][i]),
        )
    console.print(table)
    sobol = result.sensitivity_table
    if len(sobol):
        indices = Table(title=t("rob.cli.sobol_title"))
        for key in ("factor", "s1", "st"):
            indices.add_column(t(f"rob.col.{key}"), justify="left" if key == "factor" else "right")
        for row in sobol.itertuples(index=False):
            indices.add_row(
                str(row.label),
                f"{row.S1:.3f} ± {row.S1_conf:.3f}",
                f"{row.ST:.3f} ± {row.ST_conf:.3f}",
            )
        console.print(indices)
    if analysis.data_changed:
        console.print(f"[yellow]! {t('rob.data_changed', run=analysis.run_id)}[/]")
    p = result.provenance
    console.print(
        t(
            "rob.cli.provenance",
            seed=result.spec.seed,
            replications=result.replications,
            scheduler=p.get("scheduler", "local"),
            workers=p.get("n_workers", 1),
        ),
        style="dim",
    )


def whole(x: float) -> str:
    return "—" if np.isnan(x) else str(int(x))


def percent(x: float) -> str:
    return "—" if np.isnan(x) else f"{100 * x:.0f}%"
