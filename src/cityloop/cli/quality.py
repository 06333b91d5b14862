"""``cityloop quality …``: the data-quality report of a unit (per department, optionally as
xlsx) and one round of endpoint probes (for a cron job or systemd timer every few minutes).

Thin adapter over ``services.data_quality``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cityloop.cli.common import console, guarded
from cityloop.i18n import current_language, t
from cityloop.services import data_quality as service
from cityloop.services import store

quality_app = typer.Typer(help=t("dataquality.cli.help"), no_args_is_help=True)
Unit = Annotated[str, typer.Option("--unit", help=t("dataquality.cli.opt_unit"))]
COLUMNS = ("completeness", "timeliness", "sharing", "uptime", "metadata", "score")


def register(app: typer.Typer) -> None:
    """Add the ``quality`` group to ``app``."""
    app.add_typer(quality_app, name="quality")


@quality_app.command("report", help=t("dataquality.cli.report_help"))
def report_cmd(
    unit: Unit,
    out: Annotated[Path | None, typer.Option("--out", help=t("dataquality.cli.opt_out"))] = None,
    window: Annotated[
        int, typer.Option("--window-days", help=t("dataquality.cli.opt_window"))
    ] = service.DEFAULT_WINDOW_DAYS,
) -> None:
    with guarded():
        report = service.quality_report(store.open_database(), unit, window_days=window)
        if out is not None:
            service.export_report(report, out, current_language())
    table = Table(title=t("dataquality.cli.title", unit=unit, days=report.window_days))
    table.add_column(t("dataquality.col.department"))
    table.add_column(t("dataquality.col.resources"), justify="right")
    for column in COLUMNS:
        table.add_column(t(f"dataquality.col.{column}"), justify="right")
    table.add_column(t("dataquality.col.light"))
    for row in [*report.departments, report.total]:
        shares = [_percent(getattr(row, c)) for c in COLUMNS]
        light = t(f"dataquality.light.{row.light}")
        table.add_row(row.name, str(row.resources), *shares, light)
    console.print(table)
    if out is not None:
        console.print(t("dataquality.cli.exported", path=str(out)), soft_wrap=True)


@quality_app.command("probe", help=t("dataquality.cli.probe_help"))
def probe_cmd(
    unit: Unit,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, max=60, help=t("dataquality.cli.opt_timeout"))
    ] = 5.0,
) -> None:
    with guarded():
        results = service.probe_endpoints(store.open_database(), unit, timeout=timeout)
    for r in results:
        mark = "✓" if r.ok else "✗"
        latency = "—" if r.latency_ms is None else f"{r.latency_ms:.0f} ms"
        console.print(f"{mark} {r.url} · {r.detail} · {latency}", markup=False, soft_wrap=True)
    ok = sum(r.ok for r in results)
    console.print(t("dataquality.cli.probed", unit=unit, count=len(results), ok=ok))


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"
