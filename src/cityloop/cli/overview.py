"""``cityloop overview city|ranking``: the city overview and the ranking as Rich tables.

Thin adapter over ``cityloop.services.dashboard`` and ``dashboard_ranking``, reading the
configured database.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cityloop.cli.common import console, guarded
from cityloop.i18n import t
from cityloop.services import dashboard, dashboard_ranking, store

overview_app = typer.Typer(help=t("dash.cli.help"), no_args_is_help=True)

RunOption = Annotated[int | None, typer.Option("--run", help=t("dash.cli.opt.run"))]
FrameworkOption = Annotated[
    str | None, typer.Option("--framework", help=t("dash.cli.opt.framework"))
]
YearOption = Annotated[int | None, typer.Option("--year", help=t("dash.cli.opt.year"))]


def register(app: typer.Typer) -> None:
    """Add the ``overview`` group to ``app``."""
    app.add_typer(overview_app, name="overview")


def score(x: float | None, fmt: str = "{:.2f}") -> str:
    return "—" if x is None else fmt.format(x)


@overview_app.command("city", help=t("dash.cli.city_help"))
def city_cmd(
    code: Annotated[str, typer.Argument(help=t("dash.cli.arg.code"))],
    run: RunOption = None,
    framework: FrameworkOption = None,
    year: YearOption = None,
) -> None:
    with guarded():
        db = store.open_database()
        o = dashboard.city_overview(db, code, None, run_id=run, framework=framework, year=year)
    console.print(f"[bold]{t('dash.city.title', name=o.name)}[/]")
    console.print(t("dash.run_info", run=o.run_id, framework=o.framework_title, year=o.year))
    head = Table(show_header=False)
    head.add_row(t("dash.col.total"), score(o.total))
    head.add_row(t("dash.col.stage"), o.stage_name or "—")
    head.add_row(t("dash.col.change"), score(o.change, "{:+.2f}"))
    if o.rank is not None:
        head.add_row(t("dash.city.rank"), t("dash.rank_of", rank=o.rank, of=o.ranked))
    for g in o.groups:
        head.add_row(f"{g.kind_name} · {g.name}", t("dash.rank_of", rank=g.rank, of=g.of))
    console.print(head)
    dims = Table(title=t("dash.cli.dimensions"))
    for key in ("dimension", "score", "median", "best"):
        dims.add_column(t(f"dash.cli.col.{key}"), justify="left" if key == "dimension" else "right")
    for d in o.dimensions:
        dims.add_row(d.name, score(d.score), score(d.median), score(d.best))
    console.print(dims)
    weak = Table(title=t("dash.city.weakest"))
    for key in ("indicator", "score", "value", "unit", "target", "need"):
        weak.add_column(t(f"dash.weak.{key}"))
    for w in o.weakest:
        need = t("dash.weak.met") if w.met else score(w.gap, "{:g}")
        target = (
            f"{w.band_low:g}–{w.band_high:g}"
            if w.target_source == "band" and w.band_low is not None and w.band_high is not None
            else score(w.target, "{:g}")
        )
        weak.add_row(
            f"{w.name} ({w.code})",
            score(w.score, "{:.1f}"),
            score(w.value, "{:g}"),
            w.unit,
            target,
            need,
        )
    console.print(weak)


@overview_app.command("ranking", help=t("dash.cli.ranking_help"))
def ranking_cmd(
    province: Annotated[
        str | None, typer.Option("--province", help=t("dash.cli.opt.province"))
    ] = None,
    cluster: Annotated[
        str | None, typer.Option("--cluster", help=t("dash.cli.opt.cluster"))
    ] = None,
    top: Annotated[int, typer.Option("--top", min=1, help=t("dash.cli.opt.top"))] = 20,
    run: RunOption = None,
    framework: FrameworkOption = None,
    year: YearOption = None,
) -> None:
    query = dashboard_ranking.RankingQuery(province=province, cluster=cluster)
    with guarded():
        db = store.open_database()
        r = dashboard_ranking.ranking(db, None, query, run_id=run, framework=framework, year=year)
    table = Table(
        title=t("dash.run_info", run=r.run_id, framework=r.framework_title, year=r.year),
        caption=t("dash.ranking.count", shown=min(top, len(r.rows)), visible=len(r.rows)),
    )
    for key in ("rank", "name", "province", "total", "change", "stage"):
        table.add_column(
            t(f"dash.col.{key}"), justify="right" if key in {"rank", "total", "change"} else "left"
        )
    for d in r.dimensions:
        table.add_column(d.name, justify="right")
    for w in r.rows[:top]:
        table.add_row(
            score(w.rank, "{}"),
            w.name,
            w.province_name,
            score(w.total),
            score(w.change, "{:+.2f}"),
            w.stage_name,
            *(score(v, "{:.1f}") for v in w.dimensions),
        )
    console.print(table)
