"""``cityloop supervise track|list|dashboard|show|progress``: start tracking a saved plan, list a
city's tracked projects, print its programme dashboard or one project, report progress.

Thin adapter over ``services.supervision`` and ``services.supervision_view``; ``progress`` acts
as a stored user, so a project manager may report only on their own projects here too.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer
from rich.table import Table

from cityloop.accounts import Principal
from cityloop.cli.common import console, guarded
from cityloop.errors import InputError
from cityloop.i18n import t
from cityloop.services import store
from cityloop.services import supervision as service
from cityloop.services import supervision_view as view
from cityloop.store import Database
from cityloop.supervision import GateKind

City = Annotated[str, typer.Argument(help=t("supweb.cli.arg_city"))]
Project = Annotated[str, typer.Argument(help=t("supweb.cli.arg_project"))]
AsOf = Annotated[str | None, typer.Option("--as-of", help=t("supweb.cli.opt_as_of"))]
AsJson = Annotated[bool, typer.Option("--json", help=t("supweb.cli.opt_json"))]
Pairs = list[str] | None
User = Annotated[str, typer.Option("--user", help=t("supweb.cli.opt_user"))]
Percent = Annotated[str | None, typer.Option("--percent", help=t("supweb.cli.opt_percent"))]
MilestoneOpt = Annotated[Pairs, typer.Option("--milestone", help=t("supweb.cli.opt_milestone"))]
GateOpt = Annotated[Pairs, typer.Option("--gate", help=t("supweb.cli.opt_gate"))]
PayOpt = Annotated[Pairs, typer.Option("--pay", help=t("supweb.cli.opt_pay"))]
Note = Annotated[str, typer.Option("--note", help=t("supweb.cli.opt_note"))]
ReportDate = Annotated[
    str | None, typer.Option("--report-date", help=t("supweb.cli.opt_report_date"))
]


def register_supervise(app: typer.Typer) -> None:
    """Add track, list, dashboard, show and progress to ``cityloop supervise``."""
    for name, command in (
        ("track", track_cmd),
        ("list", list_cmd),
        ("dashboard", dashboard_cmd),
        ("show", show_cmd),
        ("progress", progress_cmd),
    ):
        app.command(name, help=t(f"supweb.cli.{name}_help"))(command)


def _day(text: str | None, option: str) -> date:
    if not text:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError("supweb.cli.bad_option", option=option, value=text,
                         expected="YYYY-MM-DD") from None  # fmt: skip


def _pair(item: str, option: str, expected: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise InputError("supweb.cli.bad_option", option=option, value=item, expected=expected)
    return key.strip(), value.strip()


def track_cmd(
    plan_id: Annotated[int, typer.Argument(help=t("supweb.cli.arg_plan"))],
    owner: Annotated[Pairs, typer.Option("--owner", help=t("supweb.cli.opt_owner"))] = None,
) -> None:
    with guarded():
        owners = dict(_pair(o, "--owner", "CODE=DEPARTMENT") for o in owner or [])
        added = service.track_plan(
            store.open_database(), plan_id, actor=store.cli_user(), owner_departments=owners
        )
    console.print(service.tracking_summary(added))


def _project_table(lines: list[service.ProjectLine], title: str) -> Table:
    table = Table(title=title)
    for key in ("light", "project", "phase", "domain", "owner", "percent", "last_update"):
        table.add_column(t(f"supweb.col.{key}"))
    table.add_column("SPI")
    table.add_column("CPI")
    for p in sorted(lines, key=lambda p: (view.LIGHT_ORDER[p.light], p.phase, p.code)):
        f = p.figures
        table.add_row(
            t(f"supervision.light.{p.light}"), f"{p.code} {p.name}", view.phase_label(p.phase),
            view.domain_label(p.domain), view.department_label(p.owner_department),
            f"{100 * f.ev / f.bac:.0f} %" if f.bac else "—", p.last_update.isoformat(),
            view.index_text(f.spi), view.index_text(f.cpi),
        )  # fmt: skip
    return table


def list_cmd(city: City) -> None:
    with guarded():
        board = service.supervision_dashboard(store.open_database(), city, date.today())
    console.print(_project_table(board.projects, t("supweb.projects_title")))


def dashboard_cmd(city: City, as_of: AsOf = None, as_json: AsJson = False) -> None:
    with guarded():
        board = service.supervision_dashboard(store.open_database(), city, _day(as_of, "--as-of"))
    if as_json:
        console.print_json(board.model_dump_json())
        return
    console.print(t("supweb.dashboard_intro", date=board.status_date.isoformat()))
    if board.total is None:
        console.print(t("supweb.nothing_tracked"))
        return
    totals = Table(title=t("supweb.cli.totals"))
    for key in ("bac", "pv", "ev", "ac", "spi", "cpi", "eac", "vac"):
        totals.add_column(t(f"supweb.evm.{key}"))
    f = board.total.model_dump()
    totals.add_row(*(view.index_text(f[k]) if k in ("spi", "cpi") else view.money_text(f[k])
                     for k in ("bac", "pv", "ev", "ac", "spi", "cpi", "eac", "vac")))  # fmt: skip
    console.print(totals)
    parts = ((t("supweb.by_phase"), board.phases, view.phase_label),
             (t("supweb.by_domain"), board.domains, view.domain_label))  # fmt: skip
    for title, groups, label in parts:
        table = Table(title=title)
        for key in ("group", "light", "projects", "red", "amber"):
            table.add_column(t(f"supweb.col.{key}"))
        for g in groups:
            table.add_row(label(g.group), t(f"supervision.light.{g.light}"), str(g.projects),
                          str(g.red), str(g.amber))  # fmt: skip
        console.print(table)
    console.print(_project_table(board.projects, t("supweb.projects_title")))
    console.print(t("supweb.warnings_title") + f" ({len(board.warnings)})")
    for w in board.warnings:
        kind = t(f"supervision.warning_kind.{w.kind}")
        console.print(f"  [{t(f'supervision.light.{w.severity}')} · {kind}] {w.message}",
                      markup=False)  # fmt: skip
    for b in board.boundary:
        console.print(f"  [{t(f'supervision.boundary_kind.{b.kind}')}] {b.message}", markup=False)
    for s in board.spending:
        if s.flagged:
            console.print(f"  [{t(f'supweb.basis.{s.basis}')}] {s.message}", markup=False)


def show_cmd(city: City, project: Project, as_of: AsOf = None, as_json: AsJson = False) -> None:
    with guarded():
        detail = view.project_detail(store.open_database(), city, project, _day(as_of, "--as-of"))
    if as_json:
        console.print_json(detail.model_dump_json())
        return
    console.print(f"{detail.code} {detail.name} · {t(f'supervision.light.{detail.light}')}")
    f = detail.figures
    shown = {k: view.money_text(getattr(f, k)) for k in ("bac", "pv", "ev", "ac")} | {
        k: view.index_text(getattr(f, k)) for k in ("spi", "cpi")
    }
    console.print(" · ".join(f"{t(f'supweb.evm.{k}')} {v}" for k, v in shown.items()))
    milestones = Table(title=t("supweb.milestones"))
    for key in ("milestone", "due", "value", "percent", "completed"):
        milestones.add_column(t(f"supweb.col.{key}"))
    for m in detail.milestones:
        milestones.add_row(f"{m.position}. {m.name}", m.planned_date.isoformat(),
                           view.money_text(m.planned_value), f"{m.percent_complete:g} %",
                           m.completed_date.isoformat() if m.completed_date else "—")  # fmt: skip
    console.print(milestones)
    gates = Table(title=t("supweb.gates"))
    for key in ("gate", "due", "gate_state"):
        gates.add_column(t(f"supweb.col.{key}"))
    for g in detail.gates:
        state = (t("supweb.gate.skipped") if g.skipped else
                 t("supweb.gate.passed", date=g.passed_date.isoformat()) if g.passed_date else
                 t("supweb.gate.open"))  # fmt: skip
        gates.add_row(GateKind(g.kind).label(), g.planned_date.isoformat(), state)
    console.print(gates)
    for w in [*detail.warnings, *detail.boundary]:
        console.print(f"  ! {w.message}", markup=False)


def _user(db: Database, username: str) -> Principal:
    row = db.user(username)
    if row is None or not row.active:
        raise InputError("supweb.cli.unknown_user", user=username)
    return Principal(row.username, row.role, row.scope, row.department)


def _milestone(item: str) -> dict[str, Any]:
    position, value = _pair(item, "--milestone", "POS=PCT[@YYYY-MM-DD]")
    percent, _, done = value.partition("@")
    return {"position": position, "percent_complete": percent or None,
            "completed_date": done or None}  # fmt: skip


def _gate(item: str) -> dict[str, Any]:
    kind, value = _pair(item, "--gate", "KIND=YYYY-MM-DD|skipped")
    if value == "skipped":
        return {"kind": kind, "skipped": True}
    return {"kind": kind, "passed_date": value}


def progress_cmd(
    city: City,
    project: Project,
    user: User,
    percent: Percent = None,
    milestone: MilestoneOpt = None,
    gate: GateOpt = None,
    pay: PayOpt = None,
    note: Note = "",
    report_date: ReportDate = None,
) -> None:
    with guarded():
        db = store.open_database()
        actor = _user(db, user)
        payments = [_pair(p, "--pay", "YYYY-MM-DD=AMOUNT") for p in pay or []]
        data = {
            "report_date": _day(report_date, "--report-date"),
            "percent_complete": percent,
            "milestones": [_milestone(m) for m in milestone or []],
            "gates": [_gate(g) for g in gate or []],
            "spend": [{"day": d, "amount": a} for d, a in payments],
            "note": note,
        }
        stored = service.update_progress(db, city, project, data, actor=actor)
    console.print(t("supweb.flash.reported", code=stored.record.code))
