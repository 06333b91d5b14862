"""``cityloop plan diagnose CITY``: the diagnosis before a plan — the plan-type emphasis with its
reasons, weak dimensions, urgent and important indicators and the applications by term.

Thin adapter over ``services.plan_diagnosis.diagnose``; ``--json`` prints the API's JSON.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cityloop.cli.common import console, guarded
from cityloop.i18n import t
from cityloop.services import plan_diagnosis as service
from cityloop.services import store
from cityloop.services.evaluation import DEFAULT_FRAMEWORK


def register_plan(plan_app: typer.Typer) -> None:
    """Add ``diagnose`` to ``cityloop plan``."""
    plan_app.command("diagnose", help=t("plandiag.cli.help"))(diagnose_cmd)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _num(x: float | None) -> str:
    return "—" if x is None else f"{x:.1f}"


def diagnose_cmd(
    city: Annotated[str, typer.Argument(help=t("plandiag.cli.arg_city"))],
    framework: Annotated[
        str, typer.Option("--framework", help=t("plandiag.cli.opt_framework"))
    ] = DEFAULT_FRAMEWORK,
    year: Annotated[int | None, typer.Option("--year", help=t("plandiag.cli.opt_year"))] = None,
    run: Annotated[int | None, typer.Option("--run", help=t("plandiag.cli.opt_run"))] = None,
    as_json: Annotated[bool, typer.Option("--json", help=t("plandiag.cli.opt_json"))] = False,
) -> None:
    with guarded():
        db = store.open_database()
        try:
            report = service.diagnose(db, city, framework_id=framework, year=year, run_id=run)
        finally:
            db.dispose()
    if as_json:
        print(report.model_dump_json(indent=2))
        return
    print_report(report)


def print_report(r: service.DiagnosisReport) -> None:
    """The diagnosis as tables on the console, in the reader's language."""
    console.print(f"[bold]{escape(t('plandiag.title', name=r.name))}[/]")
    console.print(t("plandiag.run_info", run=r.run_id, framework=r.framework_title, year=r.year))
    console.print(t("plandiag.stage_info", stage=r.stage_name or "—", peers=r.peers))
    console.print(f"[bold green]{escape(r.headline)}[/]")
    shares = Table(title=t("plandiag.shares"))
    shares.add_column(t("plandiag.col.plan_type"))
    shares.add_column(t("plandiag.col.share"), justify="right")
    for part in service.PARTS:
        shares.add_column(t(f"plandiag.part.{part}"), justify="right")
    for ts in r.types:
        shares.add_row(ts.name, _pct(ts.share), *(_pct(ts.parts[p]) for p in service.PARTS))
    console.print(shares)
    console.print(f"[bold]{escape(t('plandiag.reasons'))}[/]")
    for reason in r.reasons:
        head = f"[{reason.type_name}] " if reason.type_name else ""
        console.print(f"  • {escape(head + reason.text)}", soft_wrap=True)
    weak = Table(title=t("plandiag.weak_dimensions"))
    for key in ("code", "name", "score", "rank", "gap"):
        weak.add_column(t(f"plandiag.col.{key}"))
    for d in (d for d in r.dimensions if d.weak):
        rank = f"{d.rank}/{d.of}" if d.rank else "—"
        weak.add_row(d.code, d.name, _num(d.score), rank, _num(d.gap))
    console.print(weak)
    priorities = Table(title=t("plandiag.priorities"))
    for key in ("kind", "code", "name", "applications"):
        priorities.add_column(t(f"plandiag.col.{key}"))
    for p in r.priorities:
        priorities.add_row(p.kind_name, p.node, p.name, "、".join(p.application_names) or "—")
    console.print(priorities)
    apps = Table(title=t("plandiag.applications"))
    for key in ("term", "application", "domain", "demand", "source"):
        apps.add_column(t(f"plandiag.col.{key}"))
    for term, listed in r.applications.items():
        for a in listed:
            source = t(f"plandiag.source.{a.source}") + (t("plandiag.moved") if a.moved else "")
            demand = "—" if a.demand is None else f"{a.demand:.1f}"
            apps.add_row(t(f"plandiag.term.{term}"), a.name, a.domain_name, demand, source)
    console.print(apps)
    console.print(f"{t('plandiag.min_share.title')}: {r.min_share_text}", soft_wrap=True)
