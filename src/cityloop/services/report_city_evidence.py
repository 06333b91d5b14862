"""The city report's evidence chapters: how robust the city's rank is (``analyse_run`` with a
fixed spec) and what its citizens say (the latest citizen survey's indices with intervals).
"""

from __future__ import annotations

import pandas as pd

from cityloop.evaluation.uncertainty import UncertaintySpec
from cityloop.i18n import t
from cityloop.reports import (
    Block,
    Chart,
    ChartKind,
    Column,
    ColumnKind,
    Figure,
    Heading,
    Paragraph,
    Series,
    Table,
)
from cityloop.services.dashboard import CityOverview
from cityloop.services.dashboard_cache import Cache
from cityloop.services.report_evaluation import Scene, number, percent, table_rows
from cityloop.services.survey_results import (
    SurveySummary,
    analyse_survey,
    list_surveys,
    survey_questionnaire,
)
from cityloop.services.uncertainty import Robustness, analyse_run
from cityloop.store import Database
from cityloop.survey.grouped import ALL
from cityloop.survey.items import Subject

# Fixed so that the same run gives the same report: ~1 s for a few hundred cities.
ROBUSTNESS_SPEC = UncertaintySpec(replications=1000, seed=20261201, top_k=10, sobol=False)
ROBUSTNESS_COLUMNS = [
    "point_rank", "median_rank", "rank_p05", "rank_p95", "p_top_k", "p_stage_change",
    "score_p05", "score_p95",
]  # fmt: skip


# Keys: the run's key, the year and the read of the values the analysis re-evaluates.
ROBUSTNESS: Cache[tuple[tuple[str, int, str], int, int], Robustness] = Cache(8)


def robustness_of(db: Database, run_id: int, year: int) -> Robustness:
    """``analyse_run`` with the report's fixed spec for ``year`` (cached per run and values)."""
    return analyse_run(db, run_id, ROBUSTNESS_SPEC.model_copy(update={"year": year}))


def _score(label: str) -> Column:
    return Column(label, ColumnKind.NUMBER, 2)


def robustness_blocks(analysis: Robustness, code: str, o: CityOverview) -> list[Block]:
    """Chapter 4: the city's rank interval, P(top k) and P(stage change) under uncertainty."""
    spec = analysis.result.spec
    summary = analysis.summary()
    mine = summary[summary["unit"] == code]
    method = t(
        "repcity.city.robust_method",
        n=spec.replications,
        seed=spec.seed,
        spread=percent(spec.weight_spread, 0),
    )
    blocks: list[Block] = [Heading(t("repcity.city.h.robustness")), Paragraph(method, note=True)]
    if mine.empty or pd.isna(mine["rank_p05"].iloc[0]):
        return [*blocks, Paragraph(t("repcity.city.robust_none", name=o.name))]
    r = mine.iloc[0]
    sentences = [
        t("repcity.city.robust_result", name=o.name, low=int(r["rank_p05"]),
          high=int(r["rank_p95"]), median=int(r["median_rank"]), of=len(summary),
          k=spec.top_k, p_top=percent(r["p_top_k"]), p_stage=percent(r["p_stage_change"]),
          stage=o.stage_name or "—"),
    ]  # fmt: skip
    if analysis.data_changed:
        sentences.append(t("repcity.city.robust_changed"))
    table = Table(
        caption=t("repcity.city.robust_caption", name=o.name, year=o.year),
        key=t("repcity.sheet.robustness"),
        columns=(
            Column(t("repcity.col.point_rank"), ColumnKind.INTEGER),
            Column(t("repcity.col.median_rank"), ColumnKind.INTEGER),
            Column(t("repcity.col.rank_p05"), ColumnKind.INTEGER),
            Column(t("repcity.col.rank_p95"), ColumnKind.INTEGER),
            Column(t("repcity.col.p_top_k", k=spec.top_k), ColumnKind.PERCENT, 1),
            Column(t("repcity.col.p_stage_change"), ColumnKind.PERCENT, 1),
            _score(t("repcity.col.score_p05")),
            _score(t("repcity.col.score_p95")),
        ),
        rows=(
            tuple(
                None if pd.isna(r[c]) else float(r[c])
                for c in (
                    "point_rank",
                    "median_rank",
                    "rank_p05",
                    "rank_p95",
                    "p_top_k",
                    "p_stage_change",
                    "score_p05",
                    "score_p95",
                )
            ),
        ),
    )
    return [*blocks, Paragraph("".join(sentences)), table]


def latest_citizen_survey(db: Database, code: str, year: int) -> SurveySummary | None:
    """The newest survey of the city's public (citizens) with answers, up to ``year``."""
    return next(
        (
            s
            for s in list_surveys(db, code)
            if s.responses > 0
            and s.row.year <= year
            and survey_questionnaire(s.row).spec.subject is Subject.PUBLIC
        ),
        None,
    )


def citizen_blocks(db: Database, scene: Scene, code: str) -> list[Block]:
    """Chapter 5: the latest citizen survey's experience score and indices with their CIs."""
    heading = Heading(t("repcity.city.h.citizens"))
    found = latest_citizen_survey(db, code, scene.year)
    results = analyse_survey(db, found.row.id) if found else None
    if results is None or results.analysis is None:
        return [heading, Paragraph(t("repcity.city.no_survey", year=scene.year))]
    a = results.analysis
    e = a.experience_score
    indices = a.indices[(a.indices["group_by"] == ALL).to_numpy() & (a.indices["year"] == a.year)]
    fw = scene.view.framework
    names = [fw.name(k) if k in fw.index else str(k) for k in indices["key"]]
    table = indices.assign(name=names)[["name", "value", "low", "high", "n"]]
    chart = Chart(
        ChartKind.SPAN,
        tuple(names),
        (
            Series(t("repcity.col.low"), tuple(indices["low"].astype(float))),
            Series(t("repcity.col.high"), tuple(indices["high"].astype(float))),
            Series(t("repcity.col.index"), tuple(indices["value"].astype(float))),
        ),
        t("repcity.col.index"),
    )
    return [
        heading,
        Paragraph(
            t(
                "repcity.city.survey",
                year=a.year,
                n=results.responses,
                score=number(e.value),
                low=number(e.low),
                high=number(e.high),
                weighted=t(
                    "repcity.city.weighted" if results.weighted else "repcity.city.unweighted"
                ),
            )
        ),
        Figure(t("repcity.city.survey_figure", year=a.year), chart),
        Table(
            caption=t("repcity.city.survey_caption", year=a.year),
            key=t("repcity.sheet.citizens"),
            columns=(
                Column(t("repcity.col.domain")),
                _score(t("repcity.col.index")),
                _score(t("repcity.col.low")),
                _score(t("repcity.col.high")),
                Column(t("repcity.col.respondents"), ColumnKind.INTEGER),
            ),
            rows=table_rows(table, list(table.columns)),
        ),
    ]
