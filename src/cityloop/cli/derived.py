"""``cityloop derive …``: compute a framework's derived indicators now or every N seconds, and
show where one derived value came from.

Thin adapter over ``services.derived``; acts as the CLI user.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table

from cityloop.cli.common import console, guarded
from cityloop.i18n import pick, t
from cityloop.services import derived, store

derive_app = typer.Typer(help=t("derived.cli.help"), no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``derive`` group to ``app``."""
    app.add_typer(derive_app, name="derive")


@derive_app.command("run", help=t("derived.cli.run_help"))
def run_cmd(
    framework: Annotated[str, typer.Argument(help=t("derived.cli.arg_framework"))],
    unit: Annotated[list[str], typer.Option("--unit", help=t("derived.cli.opt_unit"))],
    year: Annotated[int, typer.Option("--year", help=t("derived.cli.opt_year"))],
    every: Annotated[
        int | None, typer.Option("--every", min=1, help=t("derived.cli.opt_every"))
    ] = None,
    runs: Annotated[
        int | None, typer.Option("--runs", min=1, help=t("derived.cli.opt_runs"))
    ] = None,
) -> None:
    done = 0
    while True:
        with guarded():
            report = derived.derive(
                store.open_database(), framework, unit, year, actor=store.cli_user()
            )
        _print_report(report)
        done += 1
        # A scheduler (systemd timer, cron) can run this without --every instead.
        if every is None or (runs is not None and done >= runs):
            return
        time.sleep(every)


def _print_report(report: derived.DerivationReport) -> None:
    table = Table(title=t("derived.cli.title", framework=report.framework, year=report.year))
    for key in ("unit", "indicator", "value", "observations", "entities"):
        table.add_column(t(f"derived.col.{key}"))
    for v in report.values:
        table.add_row(
            v.unit, v.indicator, f"{v.value:g}",
            str(v.provenance["observations"]), str(v.provenance["entities"]),
        )  # fmt: skip
    console.print(table)
    for s in report.skipped:
        console.print(t("derived.cli.skipped", unit=s.unit, indicator=s.indicator, why=s.render()))
    c = report.counts
    console.print(
        t("derived.cli.counts", inserted=c.inserted, updated=c.updated, unchanged=c.unchanged)
    )


@derive_app.command("show", help=t("derived.cli.show_help"))
def show_cmd(
    framework: Annotated[str, typer.Argument(help=t("derived.cli.arg_framework"))],
    unit: Annotated[str, typer.Argument(help=t("derived.cli.opt_unit"))],
    year: Annotated[int, typer.Argument(help=t("derived.cli.opt_year"))],
    indicator: Annotated[str, typer.Argument(help=t("derived.cli.arg_indicator"))],
) -> None:
    with guarded():
        view = derived.provenance_view(store.open_database(), framework, unit, year, indicator)
    console.print(f"{indicator} {pick(view.item.indicator.name.as_dict())}", soft_wrap=True)
    console.print(t("derived.cli.formula", formula=view.item.formula.text), soft_wrap=True)
    if view.stored is None:
        console.print(t("derived.cli.not_computed"))
    else:
        console.print(t("derived.cli.value", value=f"{view.stored.value:g}"))
        for key in ("window", "observations", "entities", "first", "last", "buckets", "metrics"):
            console.print(
                f"  {t(f'derived.prov.{key}')}: {view.provenance.get(key)}", soft_wrap=True
            )
    for ref, entities in view.entities.items():
        table = Table(title=ref)
        for column in ("entity_id", "observations", "first", "last"):
            table.add_column(t(f"derived.col.{column}"))
        for row in entities.itertuples(index=False):
            table.add_row(str(row.entity_id), str(row.observations), str(row.first), str(row.last))
        console.print(table)
