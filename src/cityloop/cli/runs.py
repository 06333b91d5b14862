"""``cityloop runs list|run|compare|export``: stored evaluation runs from the command line.

Thin adapter over ``cityloop.services.runs`` and ``cityloop.services.run_results``; the database
comes from ``CITYLOOP_DATABASE_URL``. The command line sees every region.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cityloop.cli.common import console, guarded
from cityloop.i18n import current_language, t
from cityloop.services import run_results as results
from cityloop.services import runs as service
from cityloop.services import store as store_service
from cityloop.services.evaluation import load_config


def register(app: typer.Typer) -> None:
    """Add the ``runs`` command group to ``app``."""
    group = typer.Typer(help=t("runs.cli.help"), no_args_is_help=True)
    group.command("list", help=t("runs.cli.list.help"))(list_cmd)
    group.command("run", help=t("runs.cli.run.help"))(run_cmd)
    group.command("compare", help=t("runs.cli.compare.help"))(compare_cmd)
    group.command("export", help=t("runs.cli.export.help"))(export_cmd)
    app.add_typer(group, name="runs")


def list_cmd(
    framework: Annotated[
        str | None, typer.Option("--framework", help=t("runs.cli.opt.framework_filter"))
    ] = None,
) -> None:
    with guarded():
        db = store_service.open_database()
        rows = db.runs(framework)
    if not rows:
        console.print(t("runs.list.empty"))
        return
    table = Table(title=t("runs.list.title"))
    for key in ("id", "framework", "who", "when", "normalisation", "weights", "aggregation"):
        table.add_column(t(f"runs.col.{key}"), justify="right" if key == "id" else "left")
    for row in rows:
        summary = service.describe_config(row.config)
        table.add_row(
            str(row.id),
            f"{row.framework_id} {row.framework_version}",
            row.created_by,
            row.created_at.strftime("%Y-%m-%d %H:%M"),
            summary["normalisation"],
            summary["weights"],
            summary["aggregation"],
        )
    console.print(table)


def run_cmd(
    framework: Annotated[
        str, typer.Option("--framework", help=t("runs.cli.opt.framework"))
    ] = service.DEFAULT_FRAMEWORK,
    config: Annotated[Path | None, typer.Option("--config", help=t("runs.cli.opt.config"))] = None,
    top: Annotated[int, typer.Option("--top", min=0, help=t("runs.cli.opt.top"))] = 10,
) -> None:
    with guarded():
        cfg = load_config(config)
        db = store_service.open_database()
        run_id, _ = service.evaluate_stored(db, framework, cfg, actor=store_service.cli_user())
        view = results.run_view(db, run_id, None)
    console.print(t("runs.cli.started", id=run_id, url=f"/runs/{run_id}"), soft_wrap=True)
    table = Table(title=t("runs.run.ranking", year=view.year or "—"))
    for key in ("rank", "city", "total", "stage"):
        table.add_column(t(f"runs.col.{key}"), justify="right" if key != "city" else "left")
    for row in results.as_records(view.ranking.head(top)):
        score = "—" if row["score"] is None else f"{row['score']:.2f}"
        name = f"{row['name']} ({row['unit']})"
        table.add_row(str(row["rank"] or "—"), name, score, str(row["stage_name"]))
    console.print(table)


def compare_cmd(
    a: Annotated[int, typer.Argument(help=t("runs.cli.arg.a"))],
    b: Annotated[int, typer.Argument(help=t("runs.cli.arg.b"))],
    year: Annotated[int | None, typer.Option("--year", help=t("runs.cli.opt.year"))] = None,
) -> None:
    with guarded():
        db = store_service.open_database()
        c = results.compare_runs(db, a, b, None, year)
    r = c.ranks
    console.print(t("runs.compare.title", a=a, b=b) + f" · {c.year}")
    if not c.same_framework:
        console.print(t("runs.compare.total_only"))
    stats = Table(show_header=False)
    for key, value in (
        ("compared", str(r.compared)),
        ("spearman", f"{r.spearman:.4f}"),
        ("kendall", f"{r.kendall:.4f}"),
        ("mean_shift", f"{r.mean_abs_shift:.2f}"),
        ("stage_changes", str(r.stage_changes)),
    ):
        stats.add_row(t(f"runs.compare.{key}"), value)
    console.print(stats)
    for title, movers in (("movers_up", r.movers_up), ("movers_down", r.movers_down)):
        console.print(f"[bold]{t(f'runs.compare.{title}')}[/]")
        for m in movers.itertuples():
            name = c.names.get(str(m.unit), str(m.unit))
            console.print(f"  {name} ({m.unit}): {m.rank_a:.0f} → {m.rank_b:.0f} ({m.shift:+.0f})")
    console.print(f"[bold]{t('runs.compare.config_changes')}[/]")
    for change in c.changes:
        console.print(f"  {change.key}: {change.a!r} → {change.b!r}", markup=False)


def export_cmd(
    run_id: Annotated[int, typer.Argument(help=t("runs.cli.arg.run"))],
    out: Annotated[Path, typer.Argument(help=t("runs.cli.arg.out"))],
) -> None:
    with guarded():
        db = store_service.open_database()
        results.export_run(db, run_id, out, None, current_language())
    console.print(t("runs.cli.exported", id=run_id, file=str(out)), soft_wrap=True)
