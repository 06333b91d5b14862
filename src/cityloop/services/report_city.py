"""The city evaluation report (城市评价报告): one city's scores, stage, rank, dimensions, strengths
and weaknesses, ranking robustness, citizen experience, recommendations and raw values.

Every number comes from a service: ``dashboard.city_overview`` (scores, ranks, weakest
indicators), ``db.run_scores`` (second-level nodes), ``plan_diagnosis.diagnose`` (the weak and
strong rule), ``uncertainty.analyse_run`` and ``survey_results.analyse_survey``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cityloop.evaluation.result import TOTAL
from cityloop.i18n import t, use_language
from cityloop.planning.diagnosis_method import DiagnosisRules
from cityloop.reports import (
    Block,
    BulletList,
    Chart,
    ChartKind,
    Column,
    ColumnKind,
    Document,
    Figure,
    Heading,
    PageBreak,
    Paragraph,
    Series,
    Table,
)
from cityloop.reports.document import Cell
from cityloop.services.collection import department_name
from cityloop.services.dashboard import CityOverview, WeakIndicator, city_overview
from cityloop.services.dashboard_cache import Cache, raw_year
from cityloop.services.plan_diagnosis import DiagnosisReport, NodeOut, diagnose, packaged_method
from cityloop.services.report_city_evidence import (
    ROBUSTNESS,
    ROBUSTNESS_SPEC,
    citizen_blocks,
    robustness_blocks,
    robustness_of,
)
from cityloop.services.report_evaluation import (
    Scene,
    evaluation_document,
    number,
    open_scene,
    percent,
    signed,
    stage_lines,
    stage_note,
    synthetic,
    table_rows,
)
from cityloop.store import Database

__all__ = ["ROBUSTNESS_SPEC", "city_report"]


def city_report(
    db: Database,
    code: str,
    *,
    run_id: int | None = None,
    year: int | None = None,
    lang: str = "zh-CN",
    scope: str | None = None,
    with_values: bool = True,
) -> Document:
    """The evaluation report of city ``code`` in a stored run and year, written in ``lang``.

    Parameters
    ----------
    db : Database
        Where the run, values and surveys are stored.
    code : str
        The city's unit code; the caller has checked the reader may see it.
    run_id : int, optional
        The run reported (default: the newest run of the default framework).
    year : int, optional
        The year reported (default: the run's latest).
    lang : str
        ``zh-CN`` (default) or ``en``.
    scope : str or None
        The reader's region (None: every region); the best city is named only when visible.
    with_values : bool
        Append every indicator's raw value (readers allowed to view values only).

    Returns
    -------
    Document
        The report, ready for ``cityloop.reports.render``.

    Raises
    ------
    NoRunError
        No such run, or no run yet.
    CityLoopError
        A year the run does not have, or a city it did not evaluate that year.
    """
    with use_language(lang):
        scene = open_scene(db, run_id, year)
        o = city_overview(db, code, scope, run_id=scene.view.run.id, year=scene.year)
        blocks: list[Block] = [*summary_blocks(o, scene), *dimension_blocks(db, o, scene)]
        diagnosis = diagnose(db, code, run_id=o.run_id, year=o.year)
        blocks += strength_blocks(diagnosis)
        analysis = ROBUSTNESS.get(
            (scene.view.key, o.year, raw_year(db, scene.view, o.year).serial),
            lambda: robustness_of(db, o.run_id, o.year),
        )
        blocks += robustness_blocks(analysis, code, o)
        blocks += citizen_blocks(db, scene, code)
        blocks += recommendation_blocks(o.weakest)
        if with_values:
            blocks += appendix_blocks(db, scene, code)
        return evaluation_document(
            scene,
            title=t("repcity.city.title", name=o.name),
            subtitle=t("repcity.city.subtitle", year=o.year, framework=o.framework_title),
            facts=((t("repcity.fact.city"), f"{o.name}（{o.unit}）"),),
            blocks=blocks,
            is_synthetic=synthetic(db, scene, [code]),
        )


def _score(label: str) -> Column:
    return Column(label, ColumnKind.NUMBER, 2)


def summary_blocks(o: CityOverview, scene: Scene) -> list[Block]:
    """Chapter 1: the total, stage, rank and change in sentences and one table."""
    sentences = [
        t("repcity.city.summary", name=o.name, year=o.year, score=number(o.total),
          scale=number(o.scale, 0), stage=o.stage_name or "—", rank=o.rank or "—",
          ranked=o.ranked or "—"),
    ]  # fmt: skip
    if o.change is None or scene.previous is None:
        sentences.append(t("repcity.city.change_none"))
    else:
        key = "up" if o.change > 0 else "down" if o.change < 0 else "flat"
        sentences.append(
            t(f"repcity.city.change_{key}", previous=scene.previous, change=signed(o.change))
        )
    sentences += [
        t("repcity.city.group_rank", kind=g.kind_name, group=g.name, rank=g.rank, of=g.of)
        for g in o.groups
    ]
    median = next((p.median for p in o.trend if p.year == o.year), None)
    headline = Table(
        caption=t("repcity.city.headline_caption", name=o.name, year=o.year),
        key=t("repcity.sheet.headline"),
        columns=(
            _score(t("repcity.col.total")),
            Column(t("repcity.col.stage")),
            Column(t("repcity.col.rank"), ColumnKind.INTEGER),
            Column(t("repcity.col.ranked"), ColumnKind.INTEGER),
            _score(t("repcity.col.change")),
            _score(t("repcity.col.median")),
        ),
        rows=((o.total, o.stage_name or None, o.rank, o.ranked, o.change, median),),
        note=stage_note(scene),
    )
    return [
        Heading(t("repcity.city.h.summary")),
        Paragraph("".join(sentences)),
        headline,
    ]


def dimension_blocks(db: Database, o: CityOverview, scene: Scene) -> list[Block]:
    """Chapter 2: the dimensions against the median and the best, then each one's sub-nodes."""
    fw = scene.view.framework
    scores = NODES.get(
        (scene.view.key, o.year), lambda: node_scores(db, scene.view.run.id, scene.year)
    )
    medians = scores.groupby("node")["score"].median()
    own = scores[scores["unit"] == o.unit].set_index("node")
    names = [d.name for d in o.dimensions]
    chart = Chart(
        ChartKind.BAR,
        tuple(names),
        (
            Series(o.name, tuple(d.score for d in o.dimensions)),
            Series(t("repcity.peer_median"), tuple(d.median for d in o.dimensions)),
            Series(o.best_name, tuple(d.best for d in o.dimensions)),
        ),
        t("repcity.col.score"),
        stage_lines(scene),
    )
    node_columns = (
        Column(t("repcity.col.code")),
        Column(t("repcity.col.node")),
        _score(t("repcity.col.score")),
        Column(t("repcity.col.rank"), ColumnKind.INTEGER),
        Column(t("repcity.col.ranked"), ColumnKind.INTEGER),
        _score(t("repcity.col.median")),
    )

    def rows(codes: list[str]) -> tuple[tuple[Cell, ...], ...]:
        frame = pd.DataFrame(
            {
                "code": codes,
                "name": [fw.name(c) for c in codes],
                "score": own["score"].reindex(codes).to_numpy(dtype=np.float64),
                "rank": own["rank"].reindex(codes).astype("Int64").to_numpy(dtype=object),
                "ranked": own["ranked"].reindex(codes).astype("Int64").to_numpy(dtype=object),
                "median": medians.reindex(codes).to_numpy(dtype=np.float64),
            }
        )
        return table_rows(frame, list(frame.columns))

    blocks: list[Block] = [
        Heading(t("repcity.city.h.dimensions")),
        Paragraph(t("repcity.city.dimensions_intro", name=o.name, best=o.best_name)),
        Figure(t("repcity.city.dimensions_figure", name=o.name, year=o.year), chart),
        Table(
            caption=t("repcity.city.dimensions_caption", name=o.name, year=o.year),
            key=t("repcity.sheet.dimensions"),
            columns=(*node_columns, _score(t("repcity.col.best"))),
            rows=tuple(
                (*r, d.best)
                for r, d in zip(rows([d.code for d in o.dimensions]), o.dimensions, strict=True)
            ),
        ),
    ]
    for d in o.dimensions:  # a handful of dimensions: one section each
        children = [n.code for n in fw.dimensions if n.parent == d.code]
        blocks += [
            Heading(f"{d.code} {d.name}", 2),
            Table(
                caption=t("repcity.city.nodes_caption", dimension=d.name),
                key=f"{d.code} {t('repcity.sheet.nodes')}",
                columns=node_columns,
                rows=rows(children),
            ),
        ]
    return blocks


# A run's scores never change: its first two levels are read once per run and year.
NODES: Cache[tuple[tuple[str, int, str], int], pd.DataFrame] = Cache(8)


def node_scores(db: Database, run_id: int, year: int) -> pd.DataFrame:
    """The dimension and second-level scores, ranks and counts of every unit in ``year``."""
    scores = db.run_scores(run_id, max_level=2)
    return scores[(scores["year"] == year).to_numpy() & (scores["node"] != TOTAL).to_numpy()]


def strength_blocks(d: DiagnosisReport) -> list[Block]:
    """Chapter 3: weak and strong dimensions and second-level nodes, by the diagnosis' rule."""
    rules: DiagnosisRules = packaged_method().rules
    flagged = [n for n in (*d.dimensions, *d.indicators) if n.weak or n.strong]

    def verdict(n: NodeOut) -> str:
        if n.strong:
            return t("repcity.verdict.strong")
        why = [t(f"repcity.verdict.{k}") for k, on in
               (("by_peers", n.weak_by_peers), ("by_own", n.weak_by_own)) if on]  # fmt: skip
        return t("repcity.verdict.weak", why=t("repcity.verdict.sep").join(why))

    def item(n: NodeOut) -> str:
        return t(
            "repcity.city.node_item",
            code=n.code,
            name=n.name,
            score=number(n.score),
            rank=n.rank or "—",
            of=n.of,
        )

    strong = [item(n) for n in flagged if n.strong]
    weak = [item(n) for n in flagged if n.weak]
    return [
        Heading(t("repcity.city.h.strengths")),
        Paragraph(
            t(
                "repcity.city.rule",
                weak=percent(rules.weak_percentile, 0),
                own=number(rules.below_own_mean * d.scale, 0),
                strong=percent(rules.strong_percentile, 0),
            ),
            note=True,
        ),
        Heading(t("repcity.city.h.strong"), 2),
        BulletList(tuple(strong)) if strong else Paragraph(t("repcity.city.none_strong")),
        Heading(t("repcity.city.h.weak"), 2),
        BulletList(tuple(weak)) if weak else Paragraph(t("repcity.city.none_weak")),
        Table(
            caption=t("repcity.city.strengths_caption", name=d.name, year=d.year),
            key=t("repcity.sheet.strengths"),
            columns=(
                Column(t("repcity.col.code")),
                Column(t("repcity.col.node")),
                Column(t("repcity.col.level"), ColumnKind.INTEGER),
                _score(t("repcity.col.score")),
                Column(t("repcity.col.percentile"), ColumnKind.PERCENT, 0),
                Column(t("repcity.col.rank"), ColumnKind.INTEGER),
                Column(t("repcity.col.verdict")),
            ),
            rows=tuple(
                (n.code, n.name, n.level, n.score, n.percentile, n.rank, verdict(n))
                for n in flagged
            ),
        ),
    ]


def _target_text(w: WeakIndicator) -> str:
    if w.target_source == "band" and w.band_low is not None and w.band_high is not None:
        return f"{w.band_low:g}–{w.band_high:g}"
    return "—" if w.target is None else f"{w.target:g}"


def recommendation_blocks(weakest: list[WeakIndicator]) -> list[Block]:
    """Chapter 6: one sentence per weakest indicator, from its gap, target and department."""
    sentences = tuple(
        t(
            "repcity.city.rec_met" if w.met else "repcity.city.rec_gap",
            name=w.name,
            code=w.code,
            value="—" if w.value is None else f"{w.value:g}",
            unit=w.unit,
            target=_target_text(w),
            gap="—" if w.gap is None else f"{w.gap:g}",
            department=department_name(w.department),
            score=number(w.score, 1),
        )
        for w in weakest
    )
    table = Table(
        caption=t("repcity.city.recommend_caption"),
        key=t("repcity.sheet.recommend"),
        columns=(
            Column(t("repcity.col.code")),
            Column(t("repcity.col.indicator")),
            Column(t("repcity.col.score"), ColumnKind.NUMBER, 1),
            Column(t("repcity.col.value"), ColumnKind.NUMBER, 2),
            Column(t("repcity.col.unit")),
            Column(t("repcity.col.target")),
            Column(t("repcity.col.gap"), ColumnKind.NUMBER, 2),
            Column(t("repcity.col.department")),
        ),
        rows=tuple(
            (
                w.code,
                w.name,
                w.score,
                w.value,
                w.unit,
                _target_text(w),
                w.gap,
                department_name(w.department),
            )
            for w in weakest
        ),
    )
    return [
        Heading(t("repcity.city.h.recommend")),
        Paragraph(t("repcity.city.recommend_intro", n=len(weakest))),
        BulletList(sentences) if sentences else Paragraph(t("repcity.city.none_weak")),
        table,
    ]


def appendix_blocks(db: Database, scene: Scene, code: str) -> list[Block]:
    """Appendix: every indicator's stored value that year with unit, target, source and note."""
    fw = scene.view.framework
    cells = db.round_cells(fw.id, scene.year, [code]).set_index("indicator")
    spec = scene.view.spec
    frame = pd.DataFrame(
        {
            "code": list(fw.indicator_codes),
            "name": [fw.name(c) for c in fw.indicator_codes],
            "value": cells["value"].reindex(fw.indicator_codes).to_numpy(),
            "unit": [i.unit for i in fw.indicators],
            "target": spec["target"].reindex(fw.indicator_codes).to_numpy(),
            "source": cells["source"].reindex(fw.indicator_codes).fillna("").to_numpy(),
            "note": cells["note"].reindex(fw.indicator_codes).fillna("").to_numpy(),
        }
    )
    return [
        PageBreak(),
        Heading(t("repcity.city.h.appendix")),
        Paragraph(t("repcity.city.appendix_note", year=scene.year), note=True),
        Table(
            caption=t("repcity.city.appendix_caption", year=scene.year),
            key=t("repcity.sheet.values"),
            columns=(
                Column(t("repcity.col.code")),
                Column(t("repcity.col.indicator")),
                Column(t("repcity.col.value"), ColumnKind.NUMBER, 2),
                Column(t("repcity.col.unit")),
                Column(t("repcity.col.target"), ColumnKind.NUMBER, 2),
                Column(t("repcity.col.source")),
                Column(t("repcity.col.note")),
            ),
            rows=table_rows(frame, list(frame.columns)),
        ),
    ]
