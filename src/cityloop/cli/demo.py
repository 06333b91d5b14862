"""The ``cityloop demo-data`` command: write the synthetic demo data set to a folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cityloop.cli.common import console, guarded
from cityloop.demo.generator import DEMO_SEED
from cityloop.i18n import t
from cityloop.services.demo import TableFormat, write_demo_data


def demo_data(
    out: Annotated[Path, typer.Option("--out", help=t("demo.cli.opt_out"))] = Path("cityloop-demo"),
    framework: Annotated[
        list[str] | None, typer.Option("--framework", help=t("demo.cli.opt_framework"))
    ] = None,
    fmt: Annotated[
        TableFormat, typer.Option("--format", help=t("demo.cli.opt_format"))
    ] = TableFormat.CSV,
    cities: Annotated[int, typer.Option("--cities", help=t("demo.cli.opt_cities"))] = 320,
    seed: Annotated[int, typer.Option("--seed", help=t("demo.cli.opt_seed"))] = DEMO_SEED,
) -> None:
    with guarded():
        written = write_demo_data(out, framework or None, fmt=fmt.value, n_cities=cities, seed=seed)
    table = Table(title=t("demo.cli.written", count=len(written), dir=escape(str(out))))
    table.add_column(t("demo.cli.col_file"))
    table.add_column(t("demo.cli.col_size"), justify="right")
    for path in written:
        table.add_row(escape(str(path)), f"{path.stat().st_size / 1024:,.1f}")
    console.print(table)
    if not any(path.name.startswith("values-") for path in written):
        console.print(t("demo.cli.no_frameworks"))
    console.print(f"[bold yellow]{escape(t('demo.cli.synthetic', seed=seed))}[/]")


def register(app: typer.Typer) -> None:
    """Register ``demo-data`` on ``app``."""
    app.command("demo-data", help=t("demo.cli.help"))(demo_data)
