"""``cityloop plan catalogue …``: list and show the project catalogue (项目库), export it to Excel
and import an edited workbook as a city's overrides, and reset a city's change to one project.

Thin adapter over ``services.plan_catalogue``; acts as the CLI user with an administrator's rights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cityloop.cli.common import console, guarded
from cityloop.errors import InputError
from cityloop.i18n import current_language, pick, t
from cityloop.services import plan_catalogue as service
from cityloop.services import store
from cityloop.services.files import write_atomically
from cityloop.store import Database

catalogue_app = typer.Typer(help=t("plancat.cli.help"), no_args_is_help=True)
UnitOption = Annotated[str | None, typer.Option("--unit", help=t("plancat.cli.opt_unit"))]
Code = Annotated[str, typer.Argument(help=t("plancat.cli.arg_code"))]


def register_plan(plan_app: typer.Typer) -> None:
    """Add the ``catalogue`` sub-group to ``cityloop plan``."""
    plan_app.add_typer(catalogue_app, name="catalogue")


def _view(db: Database, unit: str | None) -> service.UnitCatalogue:
    if unit is None:
        return service.shipped_view()
    units = db.units()
    if units is None or unit not in units.table.index:
        raise InputError("plancat.cli.unknown_unit", unit=unit)
    return service.unit_view(db, unit)


def _write(path: Path, content: bytes) -> None:
    path.write_bytes(content)


def _amounts(values: tuple[float, ...]) -> str:
    return " / ".join(f"{v:g}" for v in values)


@catalogue_app.command("list", help=t("plancat.cli.list_help"))
def list_cmd(
    unit: UnitOption = None,
    domain: Annotated[
        str | None, typer.Option("--domain", help=t("plancat.cli.opt_domain"))
    ] = None,
    plan_type: Annotated[
        str | None, typer.Option("--plan-type", help=t("plancat.cli.opt_plan_type"))
    ] = None,
) -> None:
    with guarded():
        view = _view(store.open_database(), unit)
    lang = current_language()
    table = Table(title=t("plancat.title"))
    for key in ("code", "name", "domain", "cycle", "total_cost", "plan_types", "status"):
        table.add_column(t(f"plancat.head.{key}"), no_wrap=key == "code")
    for code in view.listed(domain, plan_type):
        p = view.catalogue.projects[code]
        table.add_row(
            code, pick({"zh": p.name_zh, "en": p.name_en}),
            view.catalogue.domain_name(p.domain, lang), str(p.cycle), f"{p.total_cost:g}",
            "、".join(t(f"plancat.type.{x}") for x in p.plan_types),
            t(f"plancat.status.{view.status[code]}"),
        )  # fmt: skip
    console.print(table)
    console.print(t("plancat.illustrative"), soft_wrap=True)


@catalogue_app.command("show", help=t("plancat.cli.show_help"))
def show_cmd(code: Code, unit: UnitOption = None) -> None:
    with guarded():
        view = _view(store.open_database(), unit)
        p = view.project(code)
    lang = current_language()
    names = service.application_names(lang)
    console.print(f"[bold]{p.code}[/] {pick({'zh': p.name_zh, 'en': p.name_en})}", soft_wrap=True)
    types = "、".join(t(f"plancat.type.{x}") for x in p.plan_types)
    needs = "、".join(names.get(a, a) for a in p.applications) or "—"
    lines = [
        pick({"zh": p.description_zh, "en": p.description_en}),
        t("plancat.cli.line_domain", domain=view.catalogue.domain_name(p.domain, lang)),
        t("plancat.cli.line_cost", cost=_amounts(p.cost), total=f"{p.total_cost:g}"),
        t("plancat.cli.line_staff", staff=_amounts(p.staff)),
        t("plancat.cli.line_prerequisites", codes=", ".join(p.prerequisites) or "—"),
        t("plancat.cli.line_plan_types", types=types),
        t("plancat.cli.line_needs", needs=needs),
        t("plancat.cli.line_scores", foundation=f"{p.foundation:g}",
          importance=f"{p.importance:g}"),
        t("plancat.cli.line_status", status=t(f"plancat.status.{view.status[p.code]}")),
    ]  # fmt: skip
    for line in lines:
        console.print(line, soft_wrap=True, markup=False)
    for e in p.effects:
        console.print(f"  - {e.indicator}: {e.low:g} / {e.likely:g} / {e.high:g}", markup=False)


@catalogue_app.command("export", help=t("plancat.cli.export_help"))
def export_cmd(
    file: Annotated[Path, typer.Argument(help=t("plancat.cli.arg_out"))], unit: UnitOption = None
) -> None:
    with guarded():
        db = store.open_database()
        if unit is not None:
            _view(db, unit)
        content = service.export_workbook(db, unit, current_language())
        write_atomically(file, lambda tmp: _write(tmp, content))
    console.print(t("plancat.cli.exported", file=str(file)), soft_wrap=True)


@catalogue_app.command("import", help=t("plancat.cli.import_help"))
def import_cmd(
    file: Annotated[Path, typer.Argument(help=t("plancat.cli.arg_file"))],
    unit: Annotated[str, typer.Option("--unit", help=t("plancat.cli.opt_unit"))],
) -> None:
    with guarded():
        db = store.open_database()
        _view(db, unit)
        if not file.is_file():
            raise InputError("plancat.cli.no_file", file=str(file))
        count = service.import_workbook(db, unit, file.read_bytes(), file.name,
                                        actor=store.cli_user())  # fmt: skip
    console.print(t("plancat.cli.imported", count=count, unit=unit), soft_wrap=True)


@catalogue_app.command("reset", help=t("plancat.cli.reset_help"))
def reset_cmd(
    code: Code, unit: Annotated[str, typer.Option("--unit", help=t("plancat.cli.opt_unit"))]
) -> None:
    with guarded():
        db = store.open_database()
        _view(db, unit)
        removed = service.reset_override(db, unit, code, actor=store.cli_user())
    key = "plancat.cli.reset_done" if removed else "plancat.cli.reset_nothing"
    console.print(t(key, code=code, unit=unit), soft_wrap=True)
