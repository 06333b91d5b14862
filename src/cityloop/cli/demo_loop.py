"""The ``cityloop demo-loop`` command: run the whole loop on SYNTHETIC data in a fresh SQLite file
and print each step's result (or the whole result as JSON)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from cityloop.cli.common import console, guarded, mute_solver_banner
from cityloop.demo.generator import DEMO_SEED
from cityloop.i18n import t
from cityloop.services.demo_loop import LoopResult, run_demo_loop
from cityloop.store import Database, Settings

DATABASE_FILE = "cityloop.db"


def demo_loop(
    folder: Annotated[Path, typer.Option("--folder", help=t("demoloop.cli.opt_folder"))] = Path(
        "cityloop-demo-loop"
    ),
    seed: Annotated[int, typer.Option("--seed", help=t("demoloop.cli.opt_seed"))] = DEMO_SEED,
    cities: Annotated[int, typer.Option("--cities", help=t("demoloop.cli.opt_cities"))] = 62,
    as_json: Annotated[bool, typer.Option("--json", help=t("demoloop.cli.opt_json"))] = False,
) -> None:
    mute_solver_banner()
    folder.mkdir(parents=True, exist_ok=True)
    db = Database.open(Settings(database_url=f"sqlite:///{folder / DATABASE_FILE}"))
    try:
        with guarded():
            result = run_demo_loop(db, seed=seed, n_cities=cities)
    finally:
        db.dispose()
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    print_steps(result, folder / DATABASE_FILE)


def print_steps(r: LoopResult, path: Path) -> None:
    """Print each step's result in the current language, then the synthetic-data notice."""
    b, n, p, s = r.baseline, r.needs, r.plan, r.second
    lines = [
        t("demoloop.cli.step1", city=b.city, year=b.year, score=f"{b.score:.1f}", rank=b.rank,
          of=b.ranked, stage=b.stage),
        t("demoloop.cli.step2", unit=n.surveyed, year=n.year, count=n.candidates,
          top=", ".join(code for code, _ in n.top)),
        t("demoloop.cli.step3", plan=p.plan_id, kind=p.primary_type, count=p.chosen,
          phase=", ".join(p.phase_one), status=p.status),
        t("demoloop.cli.step4", delivered=", ".join(r.build.delivered),
          late=", ".join(r.build.laggards), over=r.build.over_budget, empty=r.build.empty,
          pilots=", ".join(r.build.pilots)),
        t("demoloop.cli.step5", years=f"{s.years[0]}–{s.years[-1]}", rows=s.rows, year=s.year,
          score=f"{s.score:.1f}", rank=s.rank),
        t("demoloop.cli.step6", date=r.supervision.status_date.isoformat(),
          delayed=", ".join(r.supervision.delayed), over=", ".join(r.supervision.overspent)),
        t("demoloop.cli.step7", verdicts=", ".join(f"{k}={v}" for k, v in
                                                   r.assessment.verdicts.items())),
        t("demoloop.cli.step8", changes=r.next_plan.changes,
          before=f"{r.next_plan.piloted_before[1]:.1f}",
          after=f"{r.next_plan.piloted_after[1]:.1f}",
          dropped=", ".join(r.next_plan.dropped) or "—",
          added=", ".join(r.next_plan.added) or "—"),
    ]  # fmt: skip
    for k, line in enumerate(lines, start=1):
        console.print(f"[bold]{k}.[/] {escape(line)}")
    console.print(f"[bold yellow]{escape(t('demoloop.cli.synthetic', seed=r.seed))}[/]")
    console.print(escape(t("demoloop.cli.database", path=str(path))))


def register(app: typer.Typer) -> None:
    """Register ``demo-loop`` on ``app``."""
    app.command("demo-loop", help=t("demoloop.cli.help"))(demo_loop)
