"""``cityloop catalogue …``: list and show the resource catalogue (政务信息资源目录), import and
export it (.xlsx, DCAT .jsonld/.ttl), publish an entry and upload a table resource's rows.

Thin adapter over ``services.catalogue``; acts as the CLI user with an administrator's rights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cityloop.accounts import Principal, Role
from cityloop.cli.common import console, guarded
from cityloop.datahub.units import Units
from cityloop.errors import InputError
from cityloop.i18n import current_language, pick, t
from cityloop.services import catalogue as service
from cityloop.services import store
from cityloop.services.files import write_atomically
from cityloop.store import Database

catalogue_app = typer.Typer(help=t("catalogue.cli.help"), no_args_is_help=True)
ResourceId = Annotated[int, typer.Argument(help=t("catalogue.cli.arg_resource"))]
Unit = Annotated[str, typer.Option("--unit", help=t("catalogue.cli.opt_unit"))]


SHOWN = ("department", "description", "format", "sharing_condition", "not_shared_reason",
         "open_condition", "licence", "entity_type", "api_url")  # fmt: skip


def _write(path: Path, content: bytes) -> None:
    path.write_bytes(content)


def register(app: typer.Typer) -> None:
    """Add the ``catalogue`` group to ``app``."""
    app.add_typer(catalogue_app, name="catalogue")


def _context() -> tuple[Database, Principal, Units]:
    db = store.open_database()
    units = db.units()
    if units is None:
        raise InputError("catalogue.cli.no_regions")
    return db, Principal(store.cli_user(), Role.ADMINISTRATOR), units


@catalogue_app.command("list", help=t("catalogue.cli.list_help"))
def list_cmd(
    unit: Annotated[str | None, typer.Option("--unit", help=t("catalogue.cli.opt_unit"))] = None,
    department: Annotated[
        str | None, typer.Option("--department", help=t("catalogue.cli.opt_department"))
    ] = None,
) -> None:
    with guarded():
        db, principal, units = _context()
        view = service.listing(db, principal, units, service.CatalogueFilter(unit, department))
    table = Table(title=t("catalogue.title"))
    table.add_column("id", justify="right")
    table.add_column(t("catalogue.col.code"), no_wrap=True)
    for key in ("name_zh", "department", "sharing_type", "open_type", "status"):
        table.add_column(t(f"catalogue.col.{key}"))
    for r in view.resources:
        e = r.entry
        table.add_row(
            str(r.id), e.code, pick({"zh": e.name_zh, "en": e.name_en}), e.department,
            t(f"catalogue.sharing.{e.sharing_type.value}"),
            t(f"catalogue.open.{e.open_type.value}"), t(f"catalogue.status.{r.status.value}"),
        )  # fmt: skip
    console.print(table)


@catalogue_app.command("show", help=t("catalogue.cli.show_help"))
def show_cmd(resource_id: ResourceId) -> None:
    with guarded():
        db, principal, units = _context()
        row = service.find(db, principal, units, resource_id)
        rows = db.catalogue.row_counts([row.id]).get(row.id, 0)
    e = row.entry
    console.print(f"[bold]{e.code}[/] {pick({'zh': e.name_zh, 'en': e.name_en})}", soft_wrap=True)
    for column in SHOWN:
        value = getattr(e, column)
        if value:
            console.print(f"{t(f'catalogue.col.{column}')}: {value}", soft_wrap=True, markup=False)
    summary = t(
        "catalogue.cli.summary",
        sharing=t(f"catalogue.sharing.{e.sharing_type.value}"),
        open=t(f"catalogue.open.{e.open_type.value}"),
        status=t(f"catalogue.status.{row.status.value}"),
        rows=rows,
    )
    console.print(summary, soft_wrap=True)
    for f in e.fields:
        console.print(f"  - {f.name} ({f.label_zh}, {f.type})", markup=False)


@catalogue_app.command("import", help=t("catalogue.cli.import_help"))
def import_cmd(
    file: Annotated[Path, typer.Argument(help=t("catalogue.cli.arg_file"))], unit: Unit
) -> None:
    with guarded():
        db, principal, units = _context()
        if not file.exists():
            raise InputError("catalogue.cli.no_file", file=str(file))
        counts = service.import_catalogue(db, principal, units, unit, file)
    console.print(t("catalogue.cli.imported", added=counts.added, updated=counts.updated,
                    file=file.name), soft_wrap=True)  # fmt: skip


@catalogue_app.command("export", help=t("catalogue.cli.export_help"))
def export_cmd(
    file: Annotated[Path, typer.Argument(help=t("catalogue.cli.arg_out"))],
    unit: Annotated[str | None, typer.Option("--unit", help=t("catalogue.cli.opt_unit"))] = None,
) -> None:
    with guarded():
        db, principal, units = _context()
        content = service.export_catalogue(
            db, principal, units, file.suffix.lower(), unit=unit, lang=current_language()
        )
        write_atomically(file, lambda tmp: _write(tmp, content))
    console.print(t("catalogue.cli.exported", file=str(file)), soft_wrap=True)


@catalogue_app.command("publish", help=t("catalogue.cli.publish_help"))
def publish_cmd(
    resource_id: ResourceId,
    withdraw: Annotated[
        bool, typer.Option("--withdraw", help=t("catalogue.cli.opt_withdraw"))
    ] = False,
) -> None:
    with guarded():
        db, principal, units = _context()
        row = service.set_published(db, principal, units, resource_id, not withdraw)
    console.print(t(f"catalogue.cli.status_{row.status.value}", code=row.code), soft_wrap=True)


@catalogue_app.command("upload-rows", help=t("catalogue.cli.upload_help"))
def upload_rows_cmd(
    resource_id: ResourceId,
    file: Annotated[Path, typer.Argument(help=t("catalogue.cli.arg_rows"))],
) -> None:
    with guarded():
        db, principal, units = _context()
        if not file.exists():
            raise InputError("catalogue.cli.no_file", file=str(file))
        count = service.upload_rows(db, principal, units, resource_id, file, file.name)
    console.print(t("catalogue.cli.uploaded", count=count, resource=resource_id), soft_wrap=True)
