"""``cityloop sensors …``: ingest NGSI-LD payload files for a unit's sensor resource, list the
unit's entities, and print an entity's series of one attribute.

Thin adapter over ``services.sensor_ingest`` and ``services.sensor_query``; acts as the CLI user.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cityloop.cli.common import console, guarded
from cityloop.errors import InputError
from cityloop.i18n import t
from cityloop.services import sensor_ingest, store
from cityloop.services.sensor_query import DAY, iso

sensors_app = typer.Typer(help=t("sensors.cli.help"), no_args_is_help=True)

Unit = Annotated[str, typer.Option("--unit", help=t("sensors.cli.opt_unit"))]


def register(app: typer.Typer) -> None:
    """Add the ``sensors`` group to ``app``."""
    app.add_typer(sensors_app, name="sensors")


@sensors_app.command("ingest", help=t("sensors.cli.ingest_help"))
def ingest_cmd(
    files: Annotated[list[Path], typer.Argument(help=t("sensors.cli.arg_files"))],
    unit: Unit,
    resource: Annotated[int, typer.Option("--resource", help=t("sensors.cli.opt_resource"))],
) -> None:
    refused = 0
    with guarded():
        db = store.open_database()
        for path in files:
            if not path.is_file():
                raise InputError("sensors.cli.no_file", file=str(path))
            kind = "application/ld+json" if path.suffix == ".jsonld" else "application/json"
            outcome = sensor_ingest.ingest(
                db, path.read_bytes(), kind, unit=unit, resource_id=resource,
                actor=store.cli_user(), client="cli",
            )  # fmt: skip
            console.print(
                t("sensors.cli.ingested", file=str(path), created=len(outcome.created),
                  updated=len(outcome.updated), observations=outcome.observations),
                soft_wrap=True,
            )  # fmt: skip
            for refusal in outcome.refusals:
                console.print(f"  ✗ {escape(refusal.render())}", soft_wrap=True)
            refused += len(outcome.refusals)
    if refused:
        raise typer.Exit(code=1)  # some entities were refused: scripts should notice


@sensors_app.command("list", help=t("sensors.cli.list_help"))
def list_cmd(
    unit: Unit,
    entity_type: Annotated[
        str | None, typer.Option("--type", help=t("sensors.cli.opt_type"))
    ] = None,
) -> None:
    with guarded():
        rows = store.open_database().sensors.entities(unit, entity_type)
    table = Table(title=t("sensors.cli.list_title", unit=unit))
    table.add_column(t("sensors.col.entity"), no_wrap=True)
    for key in ("type", "observations", "last"):
        table.add_column(t(f"sensors.col.{key}"))
    for r in rows:
        table.add_row(r.entity_id, r.entity_type, str(r.observations), iso(r.last_observed) or "—")
    console.print(table)


@sensors_app.command("series", help=t("sensors.cli.series_help"))
def series_cmd(
    entity: Annotated[str, typer.Argument(help=t("sensors.cli.arg_entity"))],
    attribute: Annotated[str, typer.Argument(help=t("sensors.cli.arg_attribute"))],
    unit: Unit,
    days: Annotated[int, typer.Option("--days", min=1, help=t("sensors.cli.opt_days"))] = 7,
) -> None:
    with guarded():
        db = store.open_database()
        found = db.sensors.entity(unit, entity)
        if found is None or found.last_observed is None:
            raise InputError("sensors.cli.no_entity", entity=entity, unit=unit)
        start = found.last_observed - days * DAY
        series = db.sensors.series(unit, entity, attribute, start, found.last_observed)
    table = Table(title=f"{entity} · {attribute}")
    table.add_column(t("sensors.col.last"))
    table.add_column(t("sensors.cli.col_value"))
    for at, value, text in series.itertuples(index=False):
        table.add_row(iso(int(at)) or "", text if text is not None else f"{value:g}")
    console.print(table)
