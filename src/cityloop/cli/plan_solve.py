"""``cityloop plan score|solve|list|show|export|scenarios``: score a city's candidate projects,
solve its portfolio, keep and read saved plans, export one to Excel, compare scenarios.

Thin adapter over ``services.plan`` and ``services.plan_scenarios``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cityloop.cli.common import console, guarded
from cityloop.errors import InputError
from cityloop.i18n import pick, t
from cityloop.services import plan as service
from cityloop.services import plan_scenarios, store
from cityloop.services.files import write_atomically
from cityloop.services.form_text import split_codes
from cityloop.services.plan_export import plan_workbook
from cityloop.services.plan_settings import (
    PlanSettings,
    judgments,
    numbers,
    plan_settings,
)
from cityloop.services.plan_view import PlanView

City = Annotated[str, typer.Argument(help=t("planweb.cli.arg_city"))]
PlanId = Annotated[int, typer.Argument(help=t("planweb.cli.arg_plan"))]
Budget = Annotated[str, typer.Option("--budget", help=t("planweb.cli.opt_budget"))]
Staff = Annotated[str, typer.Option("--staff", help=t("planweb.cli.opt_staff"))]
FirstYear = Annotated[int | None, typer.Option("--first-year", help=t("planweb.cli.opt_first"))]
PhaseYears = Annotated[str, typer.Option("--phases", help=t("planweb.cli.opt_phases"))]
Mandatory = Annotated[
    list[str] | None, typer.Option("--mandatory", help=t("planweb.cli.opt_mandatory"))
]
Exclude = Annotated[list[str] | None, typer.Option("--exclude", help=t("planweb.cli.opt_exclude"))]
Ahp = Annotated[str | None, typer.Option("--ahp", help=t("planweb.cli.opt_ahp"))]
Built = Annotated[list[str] | None, typer.Option("--built", help=t("planweb.cli.opt_built"))]
MinShare = Annotated[list[str] | None, typer.Option("--min-share", help=t("planweb.cli.opt_share"))]
CaseOpt = Annotated[str, typer.Option("--case", help=t("planweb.cli.opt_case"))]
Framework = Annotated[str | None, typer.Option("--framework", help=t("planweb.cli.opt_fw"))]
AsJson = Annotated[bool, typer.Option("--json", help=t("planweb.cli.opt_json"))]


def register_plan(plan_app: typer.Typer) -> None:
    """Add score, solve, list, show, export and scenarios to ``cityloop plan``."""
    for name, command in (
        ("score", score_cmd),
        ("solve", solve_cmd),
        ("list", list_cmd),
        ("show", show_cmd),
        ("export", export_cmd),
        ("scenarios", scenarios_cmd),
    ):
        plan_app.command(name, help=t(f"planweb.cli.{name}_help"))(command)


def _write(path: Path, content: bytes) -> None:
    path.write_bytes(content)


def _shares(items: list[str]) -> dict[str, float]:
    shares: dict[str, float] = {}
    for item in items:
        kind, sep, share = item.partition("=")
        try:
            shares[kind.strip()] = float(share)
        except ValueError:
            raise InputError("planweb.cli.bad_share", value=item) from None
        if not sep:
            raise InputError("planweb.cli.bad_share", value=item)
    return shares


def _settings(
    budget: str,
    staff: str,
    first_year: int | None,
    phases: str,
    mandatory: list[str],
    exclude: list[str],
    min_share: list[str],
    case: str,
    framework: str | None,
    built: list[str] | None = None,
    ahp: str | None = None,
) -> PlanSettings:
    mapping: dict[str, Any] = {
        "budget": numbers(budget, "budget"),
        "staff": numbers(staff, "staff"),
        "first_year": first_year,
        "phase_years": numbers(phases, "phase_years"),
        "mandatory": split_codes(",".join(mandatory)),
        "excluded": split_codes(",".join(exclude)),
        "built": split_codes(",".join(built or [])),
        "judgments": judgments(ahp) if ahp else None,
        "min_share": _shares(min_share),
        "case": case,
    }
    if framework:
        mapping["framework"] = framework
    return plan_settings(mapping)


def print_plan(view: PlanView) -> None:
    """Status, gap, the chosen projects by phase, binding limits and budget use."""
    gap = "—" if view.relative_gap is None else f"{100 * view.relative_gap:.2f} %"
    objective = "—" if view.objective is None else f"{view.objective:.3f}"
    console.print(
        t(
            "planweb.cli.status",
            status=t(f"planweb.status.{view.status}"),
            gap=gap,
            objective=objective,
        )
    )
    factor_weights = view.factor_weights.items()
    weights = "、".join(f"{t(f'planweb.factor.{f}')} {w:.3f}" for f, w in factor_weights)
    source = t(f"planweb.weight_source.{view.weight_source}")
    cr = view.consistency_ratio
    console.print(
        t("planweb.weights_used", source=source, weights=weights)
        + ("" if cr is None else " " + t("planweb.consistency", cr=f"{cr:.3f}"))
    )
    for conflict in view.conflicts:
        console.print(f"  ✗ {conflict.render()}")
    table = Table(title=t("planweb.chosen"))
    for key in ("phase", "code", "project", "start", "finish", "total_cost"):
        table.add_column(t(f"planweb.col.{key}"))
    for p in view.chosen:
        table.add_row(
            view.phase_label(p.phase),
            p.code,
            pick(p.name),
            str(p.start_year),
            str(p.finish_year),
            f"{p.total_cost:,.0f}",
        )
    console.print(table)
    for b in view.binding:
        console.print(
            t(
                "planweb.cli.binding",
                resource=t(f"planweb.resource.{b.resource}"),
                year=b.year,
                used=f"{b.used:,.1f}",
                available=f"{b.available:,.1f}",
            )
        )
    used = sum(u.budget_used for u in view.years)
    available = sum(u.budget_available for u in view.years)
    console.print(t("planweb.cli.budget_use", used=f"{used:,.0f}", available=f"{available:,.0f}"))
    if view.trajectory:
        end = view.trajectory[-1]
        console.print(
            t(
                "planweb.cli.trajectory",
                start=f"{view.baseline_total:.2f}",
                end=f"{end.total:.2f}",
                year=end.year,
                stage=view.stage_name(end.stage),
            )
        )


def score_cmd(
    city: City,
    case: CaseOpt = "likely",
    framework: Framework = None,
    ahp: Ahp = None,
    as_json: AsJson = False,
) -> None:
    with guarded():
        settings = _settings("1", "1", None, "2,2,1", [], [], [], case, framework, ahp=ahp)
        rows = service.score_plan(store.open_database(), city, settings)
    if as_json:
        console.print_json(json.dumps([r.model_dump(mode="json") for r in rows]))
        return
    table = Table(title=t("planweb.scores"))
    for key in ("rank", "code", "project", "need_value", "score_gain", "closeness"):
        table.add_column(t(f"planweb.col.{key}"))
    for r in sorted(rows, key=lambda r: (r.rank or 0, r.code)):
        closeness = "—" if r.closeness is None else f"{r.closeness:.3f}"
        table.add_row(
            str(r.rank or "—"),
            r.code,
            pick(r.name),
            f"{r.need_value:.2f}",
            f"{r.score_gain:.2f}",
            closeness,
        )
    console.print(table)


def solve_cmd(
    city: City,
    budget: Budget = "6000",
    staff: Staff = "40",
    first_year: FirstYear = None,
    phases: PhaseYears = "2,2,1",
    mandatory: Mandatory = None,
    exclude: Exclude = None,
    built: Built = None,
    ahp: Ahp = None,
    min_share: MinShare = None,
    case: CaseOpt = "likely",
    framework: Framework = None,
    save: Annotated[str | None, typer.Option("--save", help=t("planweb.cli.opt_save"))] = None,
    as_json: AsJson = False,
) -> None:
    with guarded():
        db = store.open_database()
        settings = _settings(
            budget,
            staff,
            first_year,
            phases,
            mandatory or [],
            exclude or [],
            min_share or [],
            case,
            framework,
            built,
            ahp,
        )
        view = service.solve_plan(db, city, settings)
        saved = (
            service.save_plan(db, view, settings, save, actor=store.cli_user()) if save else None
        )
    if as_json:
        console.print_json(json.dumps(view.model_dump(mode="json")))
    else:
        print_plan(view)
    if saved is not None:
        console.print(t("planweb.cli.saved", id=saved.id, name=saved.name))


def list_cmd(city: City) -> None:
    with guarded():
        plans = service.plans_of(store.open_database(), [city])
    table = Table(title=t("planweb.saved_plans"))
    for key in ("id", "name", "first_year", "status", "chosen_count", "created_by"):
        table.add_column(t(f"planweb.col.{key}"))
    for p in plans:
        table.add_row(
            str(p.id),
            p.name,
            str(p.view.first_year),
            t(f"planweb.status.{p.view.status}"),
            str(len(p.view.chosen)),
            p.created_by,
        )
    console.print(table)


def show_cmd(plan_id: PlanId, as_json: AsJson = False) -> None:
    with guarded():
        saved = service.plan(store.open_database(), plan_id)
    if as_json:
        console.print_json(json.dumps(saved.view.model_dump(mode="json")))
        return
    console.print(f"#{saved.id} {saved.name} · {saved.unit} · {saved.created_by}")
    print_plan(saved.view)


def export_cmd(
    plan_id: PlanId, out: Annotated[Path, typer.Argument(help=t("planweb.cli.arg_out"))]
) -> None:
    with guarded():
        if out.suffix.lower() != ".xlsx":
            raise InputError("planweb.cli.xlsx_only", path=str(out))
        saved = service.plan(store.open_database(), plan_id)
        content = plan_workbook(saved.view, saved.settings, saved.name)
        write_atomically(out, lambda tmp: _write(tmp, content))
    console.print(t("planweb.cli.exported", path=str(out)))


def scenarios_cmd(
    city: City,
    budget: Budget = "6000",
    staff: Staff = "40",
    first_year: FirstYear = None,
    phases: PhaseYears = "2,2,1",
    mandatory: Annotated[
        str | None, typer.Option("--make-mandatory", help=t("planweb.cli.opt_make_mandatory"))
    ] = None,
    built: Built = None,
    framework: Framework = None,
    as_json: AsJson = False,
) -> None:
    with guarded():
        settings = _settings(
            budget, staff, first_year, phases, [], [], [], "likely", framework, built
        )
        comparison = plan_scenarios.compare(
            store.open_database(),
            city,
            settings,
            plan_scenarios.default_scenarios(settings, mandatory),
        )
    if as_json:
        console.print_json(json.dumps(comparison.model_dump(mode="json")))
        return
    table = Table(title=t("planweb.scenarios"))
    for key in (
        "scenario",
        "status",
        "objective",
        "expected_total",
        "budget_used",
        "added",
        "dropped",
    ):
        table.add_column(t(f"planweb.col.{key}"))
    for s in comparison.scenarios:
        table.add_row(
            s.label,
            t(f"planweb.status.{s.status}"),
            "—" if s.objective is None else f"{s.objective:.3f}",
            "—" if s.expected_total is None else f"{s.expected_total:.2f}",
            f"{s.budget_used:,.0f}",
            ", ".join(s.added) or "—",
            ", ".join(s.dropped) or "—",
        )
    console.print(table)
    core = [r.code for r in comparison.robustness if r.everywhere]
    console.print(t("planweb.cli.robust", codes=", ".join(core) or "—"))
