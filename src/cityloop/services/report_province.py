"""The province (or cluster) evaluation report (省级评价报告): the ranking of a province's cities,
their stages, peer groups, leaders and laggards per dimension and the year's movers.

Built on ``dashboard_ranking.ranking`` (the cities a reader may see, filtered to the province)
and the run's tables of ``dashboard_cache``; cities outside the reader's scope never appear.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cityloop.errors import CityLoopError
from cityloop.evaluation import overview
from cityloop.evaluation.config import STAGES
from cityloop.i18n import pick, t, use_language
from cityloop.reports import (
    Block,
    Chart,
    ChartKind,
    Column,
    ColumnKind,
    Document,
    Figure,
    Heading,
    Paragraph,
    Series,
    Table,
)
from cityloop.services.dashboard_cache import stage_name
from cityloop.services.dashboard_ranking import RankingQuery, ranking
from cityloop.services.report_evaluation import (
    Scene,
    evaluation_document,
    number,
    open_scene,
    signed,
    stage_lines,
    stage_note,
    synthetic,
    table_rows,
)
from cityloop.store import Database

MOVERS_SHOWN = 5  # risers and fallers each
CHART_ENDS = 20  # a bigger province charts its 20 best and 20 worst cities


def province_report(
    db: Database,
    code: str,
    *,
    run_id: int | None = None,
    year: int | None = None,
    lang: str = "zh-CN",
    scope: str | None = None,
) -> Document:
    """The evaluation report of province ``code``'s cities in a stored run and year.

    Parameters
    ----------
    db : Database
        Where the run and the regions are stored.
    code : str
        The province's unit code; the caller has checked the reader may see it.
    run_id, year
        The run (default: the newest of the default framework) and year (default: its latest).
    lang : str
        ``zh-CN`` (default) or ``en``.
    scope : str or None
        The reader's region (None: every region): only cities visible in it are listed.

    Returns
    -------
    Document
        The report, ready for ``cityloop.reports.render``.

    Raises
    ------
    NoRunError
        No such run, or no run yet.
    CityLoopError
        An unknown unit or one that is not a province, a year the run does not have, or a
        province with no evaluated city the reader may see.
    """
    with use_language(lang):
        scene = open_scene(db, run_id, year)
        name = province_name(scene, code)
        cities = province_cities(db, scene, code, scope)
        if cities.empty:
            raise CityLoopError("repcity.prov.empty", name=name, year=scene.year)
        blocks = [
            *ranking_blocks(scene, name, cities),
            *stage_blocks(scene, name, cities),
            *group_blocks(scene, cities),
            *leader_blocks(scene, name, cities),
            *mover_blocks(scene, name, cities),
        ]
        return evaluation_document(
            scene,
            title=t("repcity.prov.title", name=name),
            subtitle=t(
                "repcity.prov.subtitle",
                year=scene.year,
                framework=pick(scene.view.framework.spec.title.as_dict()),
            ),
            facts=(
                (t("repcity.fact.province"), f"{name}（{code}）"),
                (t("repcity.fact.cities"), str(len(cities))),
            ),
            blocks=blocks,
            is_synthetic=synthetic(db, scene, cities["unit"].tolist()),
        )


def province_name(scene: Scene, code: str) -> str:
    """The province's name; an unknown code or a unit of another level is refused."""
    table = scene.regions.units.table
    if code not in table.index:
        raise CityLoopError("repcity.unknown_unit", unit=code)
    if str(table.at[code, "level"]) != "province":
        raise CityLoopError("repcity.prov.not_province", unit=code, name=scene.regions.name(code))
    return scene.regions.name(code)


def province_cities(db: Database, scene: Scene, code: str, scope: str | None) -> pd.DataFrame:
    """The province's scored cities visible in ``scope``, best first: the ranking's rows with
    each city's rank in the province (among every scored city of it) and its dimensions."""
    r = ranking(db, scope, RankingQuery(province=code), run_id=scene.view.run.id, year=scene.year)
    rows = [w for w in r.rows if w.total is not None]
    frame = pd.DataFrame(
        {
            "unit": [w.unit for w in rows],
            "name": [w.name for w in rows],
            "total": np.array([w.total for w in rows], dtype=np.float64),
            "change": np.array([np.nan if w.change is None else w.change for w in rows]),
            "rank": [w.rank for w in rows],
            "ranked": [w.ranked for w in rows],
            "stage": [w.stage for w in rows],
            "stage_name": [w.stage_name for w in rows],
        }
    )
    dims = pd.DataFrame(
        [w.dimensions for w in rows], columns=list(scene.view.dimensions), dtype=np.float64
    )
    totals = scene.view.by_year[scene.year].totals["score"]
    members = scene.regions.units.memberships
    in_province = members[(members["kind"] == "province") & (members["group"] == code)]["unit"]
    # The province rank counts every scored city of the province, seen or not, as the dashboard.
    ranks = overview.competition_rank(totals[totals.index.isin(in_province)])
    province_rank = pd.Series(ranks, index=totals[totals.index.isin(in_province)].index)
    frame["province_rank"] = province_rank.reindex(frame["unit"]).to_numpy()
    return pd.concat([frame, dims], axis=1).sort_values(
        ["province_rank", "unit"], ignore_index=True
    )


def ranking_blocks(scene: Scene, name: str, cities: pd.DataFrame) -> list[Block]:
    """Chapter 1: the cities ranked, in a sentence, a table and a bar chart."""
    best, worst = cities.iloc[0], cities.iloc[-1]
    summary = t(
        "repcity.prov.summary",
        name=name,
        year=scene.year,
        n=len(cities),
        median=number(float(cities["total"].median())),
        best=best["name"],
        best_score=number(best["total"]),
        worst=worst["name"],
        worst_score=number(worst["total"]),
    )
    table = Table(
        caption=t("repcity.prov.ranking_caption", name=name, year=scene.year),
        key=t("repcity.sheet.ranking"),
        columns=(
            Column(t("repcity.col.province_rank"), ColumnKind.INTEGER),
            Column(t("repcity.col.code")),
            Column(t("repcity.col.city")),
            Column(t("repcity.col.total"), ColumnKind.NUMBER, 2),
            Column(t("repcity.col.rank"), ColumnKind.INTEGER),
            Column(t("repcity.col.ranked"), ColumnKind.INTEGER),
            Column(t("repcity.col.stage")),
            Column(t("repcity.col.change"), ColumnKind.NUMBER, 2),
        ),
        rows=table_rows(
            cities,
            ["province_rank", "unit", "name", "total", "rank", "ranked", "stage_name", "change"],
        ),
        note=stage_note(scene),
    )
    # A bar per city stays readable up to a page of bars; a bigger province shows its two
    # ends (the table above holds every city).
    shown = cities
    caption = t("repcity.prov.ranking_figure", name=name, year=scene.year)
    if len(cities) > 2 * CHART_ENDS:
        shown = pd.concat([cities.iloc[:CHART_ENDS], cities.iloc[-CHART_ENDS:]])
        caption = t("repcity.prov.ranking_figure_ends", name=name, year=scene.year,
                    n=CHART_ENDS, of=len(cities))  # fmt: skip
    chart = Chart(
        ChartKind.BARH,
        tuple(shown["name"]),
        (Series(t("repcity.col.total"), tuple(shown["total"].astype(float))),),
        t("repcity.col.score"),
        stage_lines(scene),
    )
    return [
        Heading(t("repcity.prov.h.ranking")),
        Paragraph(summary),
        table,
        Figure(caption, chart),
    ]


def stage_blocks(scene: Scene, name: str, cities: pd.DataFrame) -> list[Block]:
    """Chapter 2: how many cities are in each development stage."""
    counts = overview.stage_distribution(cities["stage"], STAGES)
    names = tuple(stage_name(s) for s in counts)
    shares = np.array(list(counts.values()), dtype=np.float64) / len(cities)
    leading = max(counts, key=lambda s: counts[s])
    return [
        Heading(t("repcity.prov.h.stages")),
        Paragraph(
            t(
                "repcity.prov.stages_text",
                name=name,
                stage=stage_name(leading),
                n=counts[leading],
                of=len(cities),
            )
        ),
        Table(
            caption=t("repcity.prov.stages_caption", name=name, year=scene.year),
            key=t("repcity.sheet.stages"),
            columns=(
                Column(t("repcity.col.stage")),
                Column(t("repcity.col.cities"), ColumnKind.INTEGER),
                Column(t("repcity.col.share"), ColumnKind.PERCENT, 1),
            ),
            rows=tuple(zip(names, counts.values(), shares.tolist(), strict=True)),
        ),
        Figure(
            t("repcity.prov.stages_figure", name=name, year=scene.year),
            Chart(
                ChartKind.BAR,
                names,
                (Series(t("repcity.col.cities"), tuple(float(n) for n in counts.values())),),
                t("repcity.col.cities"),
            ),
        ),
    ]


def group_blocks(scene: Scene, cities: pd.DataFrame) -> list[Block]:
    """Chapter 3: each city's rank in the peer groups the dashboard uses (province, clusters)."""
    totals = scene.view.by_year[scene.year].totals["score"]
    ranks = overview.group_ranks(totals, scene.regions.units.memberships)
    ranks = ranks[ranks["unit"].isin(cities["unit"])].merge(cities[["unit", "name"]], on="unit")
    ranks = ranks.sort_values(["kind", "group", "rank"], ascending=[False, True, True])
    ranks["kind_name"] = ranks["kind"].map(lambda k: t(f"dash.kind.{k}"))
    ranks["group_name"] = [
        scene.regions.name(g) if k == "province" else g
        for k, g in zip(ranks["kind"], ranks["group"], strict=True)
    ]
    return [
        Heading(t("repcity.prov.h.groups")),
        Paragraph(t("repcity.prov.groups_text")),
        Table(
            caption=t("repcity.prov.groups_caption", year=scene.year),
            key=t("repcity.sheet.groups"),
            columns=(
                Column(t("repcity.col.city")),
                Column(t("repcity.col.group_kind")),
                Column(t("repcity.col.group")),
                Column(t("repcity.col.group_rank"), ColumnKind.INTEGER),
                Column(t("repcity.col.group_size"), ColumnKind.INTEGER),
            ),
            rows=table_rows(ranks, ["name", "kind_name", "group_name", "rank", "of"]),
        ),
    ]


def leader_blocks(scene: Scene, name: str, cities: pd.DataFrame) -> list[Block]:
    """Chapter 4: per dimension, the province's best and weakest city and the medians."""
    dims = list(scene.view.dimensions)
    scores = cities.set_index("name")[dims]
    scored = scores.notna().any()
    leaders = scores.loc[:, scored].idxmax().reindex(dims)
    laggards = scores.loc[:, scored].idxmin().reindex(dims)
    national = scene.view.by_year[scene.year].medians
    fw = scene.view.framework
    frame = pd.DataFrame(
        {
            "dimension": [fw.name(d) for d in dims],
            "leader": leaders.to_numpy(),
            "leader_score": scores.max().to_numpy(),
            "laggard": laggards.to_numpy(),
            "laggard_score": scores.min().to_numpy(),
            "median": scores.median().to_numpy(),
            "national": [national.get(d, np.nan) for d in dims],
        }
    )
    return [
        Heading(t("repcity.prov.h.leaders")),
        Paragraph(t("repcity.prov.leaders_text", name=name)),
        Table(
            caption=t("repcity.prov.leaders_caption", name=name, year=scene.year),
            key=t("repcity.sheet.leaders"),
            columns=(
                Column(t("repcity.col.dimension")),
                Column(t("repcity.col.leader")),
                Column(t("repcity.col.score"), ColumnKind.NUMBER, 2),
                Column(t("repcity.col.laggard")),
                Column(t("repcity.col.score"), ColumnKind.NUMBER, 2),
                Column(t("repcity.col.province_median"), ColumnKind.NUMBER, 2),
                Column(t("repcity.col.national_median"), ColumnKind.NUMBER, 2),
            ),
            rows=table_rows(frame, list(frame.columns)),
        ),
    ]


def mover_blocks(scene: Scene, name: str, cities: pd.DataFrame) -> list[Block]:
    """Chapter 5: the cities whose total rose or fell most since the year before."""
    heading = Heading(t("repcity.prov.h.movers"))
    previous = scene.previous
    moved = cities[cities["change"].notna()]
    if previous is None or moved.empty:
        return [heading, Paragraph(t("repcity.prov.no_previous", year=scene.year))]
    before = scene.view.by_year[previous].totals["rank"]
    moved = moved.assign(previous_rank=before.reindex(moved["unit"]).to_numpy(dtype=np.float64))
    moved = moved.assign(places=moved["previous_rank"] - moved["rank"].astype(np.float64))
    ordered = moved.sort_values(["change", "unit"], ascending=[False, True])
    risers = ordered[ordered["change"] > 0].head(MOVERS_SHOWN)
    fallers = ordered[ordered["change"] < 0].iloc[::-1].head(MOVERS_SHOWN)
    sentences = []
    if not risers.empty:
        top = risers.iloc[0]
        sentences.append(
            t(
                "repcity.prov.riser",
                name=top["name"],
                change=signed(top["change"]),
                previous=previous,
            )
        )
    if not fallers.empty:
        low = fallers.iloc[0]
        sentences.append(
            t(
                "repcity.prov.faller",
                name=low["name"],
                change=signed(low["change"]),
                previous=previous,
            )
        )
    columns = (
        Column(t("repcity.col.city")),
        Column(t("repcity.col.total"), ColumnKind.NUMBER, 2),
        Column(t("repcity.col.change"), ColumnKind.NUMBER, 2),
        Column(t("repcity.col.rank"), ColumnKind.INTEGER),
        Column(t("repcity.col.previous_rank", year=previous), ColumnKind.INTEGER),
        Column(t("repcity.col.places"), ColumnKind.INTEGER),
    )
    fields = ["name", "total", "change", "rank", "previous_rank", "places"]
    return [
        heading,
        Paragraph("".join(sentences) or t("repcity.prov.no_change", previous=previous)),
        Table(
            caption=t("repcity.prov.risers_caption", name=name, previous=previous),
            key=t("repcity.sheet.risers"),
            columns=columns,
            rows=table_rows(risers, fields),
        ),
        Table(
            caption=t("repcity.prov.fallers_caption", name=name, previous=previous),
            key=t("repcity.sheet.fallers"),
            columns=columns,
            rows=table_rows(fallers, fields),
        ),
    ]
