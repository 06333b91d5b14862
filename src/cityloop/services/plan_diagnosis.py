"""The diagnosis before a plan (诊断与规划类型侧重): a stored evaluation run and the city's surveys
read back, diagnosed by ``cityloop.planning.diagnosis``, named in the reader's language.

The web page, the JSON API and the CLI all call ``diagnose``. Peers are every unit the run
evaluated that year; only their score distribution is used, never their names.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel

from cityloop.errors import CityLoopError
from cityloop.evaluation.result import TOTAL
from cityloop.frameworks import Framework
from cityloop.i18n import pick, t
from cityloop.planning.diagnosis import (
    Diagnosis,
    NodeEvidence,
    TypeScore,
    diagnose_unit,
    framework_nodes,
)
from cityloop.planning.diagnosis_method import DiagnosisMethod, load_method
from cityloop.planning.diagnosis_parts import Reason
from cityloop.services.dashboard_cache import NoRunError
from cityloop.services.evaluation import DEFAULT_FRAMEWORK
from cityloop.services.run_results import stage_label, unit_names
from cityloop.services.survey_results import candidate_applications_for
from cityloop.store import Database
from cityloop.store.runs import RunRow
from cityloop.survey.needs import TERMS
from cityloop.survey.needs_dictionary import Application, load_catalogue

PARTS = ("evaluation", "needs", "stage")


class TypeShare(BaseModel):
    plan_type: str
    name: str
    evaluation: float
    needs: float
    stage: float
    share: float
    parts: dict[str, float]  # each part's contribution to ``share`` (they add up to it)


class ReasonOut(BaseModel):
    plan_type: str | None
    type_name: str
    key: str
    params: dict[str, Any]
    text: str
    why: str


class NodeOut(BaseModel):
    code: str
    name: str
    level: int
    weight: float
    score: float | None
    percentile: float | None
    rank: int | None
    of: int
    best: float | None
    gap: float | None
    below_own_mean: float | None
    weak: bool
    weak_by_peers: bool
    weak_by_own: bool
    strong: bool
    plan_types: list[str]


class PriorityOut(BaseModel):
    node: str
    name: str
    kind: str
    kind_name: str
    weight: float
    score: float
    gap: float
    weak: bool
    infrastructure: bool
    applications: list[str]
    application_names: list[str]


class ApplicationOut(BaseModel):
    code: str
    name: str
    domain: str
    domain_name: str
    level: str
    term: str
    survey_term: str | None
    default_term: str
    demand: float | None
    source: str
    moved: bool
    strong_subjects: list[str]


class DiagnosisReport(BaseModel):
    """Everything the diagnosis page shows; also the JSON of its API."""

    unit: str
    name: str
    framework: str
    framework_title: str
    run_id: int
    year: int
    years: list[int]
    scale: float
    stage: str | None
    stage_name: str
    peers: int
    surveyed: list[str]
    has_needs: bool
    primary: str
    primary_name: str
    secondary: str | None
    secondary_name: str
    headline: str
    types: list[TypeShare]
    part_weights: dict[str, float]
    reasons: list[ReasonOut]
    dimensions: list[NodeOut]
    indicators: list[NodeOut]
    priorities: list[PriorityOut]
    applications: dict[str, list[ApplicationOut]]
    min_share: dict[str, float]
    min_share_text: str
    unmapped: list[str]


@cache
def packaged_method() -> DiagnosisMethod:
    """The shipped ``plan-types.yaml``, read once."""
    return load_method()


@cache
def application_catalogue() -> dict[str, Application]:
    """The shipped application catalogue, read once."""
    return load_catalogue()


def choose_run(db: Database, framework_id: str, run_id: int | None) -> RunRow:
    """Run ``run_id``, else the newest run of ``framework_id``; ``NoRunError`` when none."""
    if run_id is not None:
        row = db.run(run_id)
        if row is None:
            raise NoRunError("dash.unknown_run", run=run_id)
        return row
    runs = db.runs(framework_id)
    if not runs:
        raise NoRunError("dash.no_run", framework=framework_id)
    return runs[0]


def diagnose(
    db: Database,
    unit: str,
    *,
    framework_id: str = DEFAULT_FRAMEWORK,
    year: int | None = None,
    run_id: int | None = None,
    method: DiagnosisMethod | None = None,
) -> DiagnosisReport:
    """Diagnose ``unit`` from a stored run and its surveys of the same year.

    Parameters
    ----------
    db
        The store.
    unit
        The unit (city) diagnosed; the caller has checked the user may see it.
    framework_id
        The framework whose newest run is read (ignored when ``run_id`` is given).
    year
        The year of the run to read (default: the run's latest).
    run_id
        A stored run to read instead of the newest.
    method
        The mapping and rules (default: the packaged ``plan-types.yaml``).

    Returns
    -------
    DiagnosisReport
        The diagnosis with every code named and every reason written in the reader's language.
        Without a survey of that year the needs part is left out and a reason says so.

    Raises
    ------
    NoRunError
        No such run, or no run of the framework yet.
    CityLoopError
        A year the run does not have, or a unit it did not evaluate that year.
    """
    run = choose_run(db, framework_id, run_id)
    fw = db.framework(run.framework_id, run.framework_version)
    scores = db.run_scores(run.id, max_level=2)
    years = sorted(int(y) for y in scores["year"].unique())
    chosen = years[-1] if year is None and years else year
    if chosen not in years:
        shown = ", ".join(map(str, years)) or "—"
        raise CityLoopError("plandiag.unknown_year", year=year, years=shown, run=run.id)
    in_year = scores[scores["year"].to_numpy() == chosen]
    total = in_year[(in_year["node"] == TOTAL).to_numpy() & (in_year["unit"] == unit).to_numpy()]
    if total.empty:
        raise CityLoopError("plandiag.not_evaluated", unit=unit, year=chosen, run=run.id)
    wide = in_year[in_year["level"].to_numpy() > 0].pivot(
        index="unit", columns="node", values="score"
    )
    wide.index = wide.index.astype(str)
    stage = str(total["stage"].iloc[0]) if pd.notna(total["stage"].iloc[0]) else None
    listed = candidate_applications_for(db, unit, int(chosen))
    catalogue = application_catalogue()
    diagnosis = diagnose_unit(
        wide,
        unit,
        framework_nodes(fw),
        framework_id=fw.id,
        scale=float(fw.spec.scale),
        stage=stage,
        candidates=listed.candidates if listed.surveys else None,
        applications=catalogue,
        method=method or packaged_method(),
    )
    return report(
        db,
        fw,
        run,
        int(chosen),
        years,
        diagnosis,
        method or packaged_method(),
        [s.value for s in listed.surveys],
    )


def type_name(code: str | None) -> str:
    """A plan type's name (创新型 …); blank for None."""
    return t(f"plandiag.type.{code}") if code else ""


def _num(x: float) -> float | None:
    return None if x is None or np.isnan(x) else round(float(x), 4)


def report(
    db: Database,
    fw: Framework,
    run: RunRow,
    year: int,
    years: list[int],
    d: Diagnosis,
    method: DiagnosisMethod,
    surveyed: list[str],
) -> DiagnosisReport:
    """The diagnosis with names and texts in the reader's language."""
    catalogue = application_catalogue()
    mapping = method.framework_nodes(fw.id)

    def node_name(code: str) -> str:
        return fw.name(code) if code in fw.index else code

    def app_name(code: str) -> str:
        app = catalogue.get(code)
        return pick({"zh": app.name_zh, "en": app.name_en}) if app else code

    def node_out(n: NodeEvidence) -> NodeOut:
        types = mapping.loc[n.code] if n.code in mapping.index else pd.Series(dtype=float)
        return NodeOut(
            code=n.code,
            name=node_name(n.code),
            level=n.level,
            weight=n.weight,
            score=_num(n.score),
            percentile=_num(n.percentile),
            rank=n.rank or None,
            of=n.of,
            best=_num(n.best),
            gap=_num(n.gap),
            below_own_mean=_num(n.below_own_mean),
            weak=n.weak,
            weak_by_peers=n.weak_by_peers,
            weak_by_own=n.weak_by_own,
            strong=n.strong,
            plan_types=[str(p) for p in types.index[types.to_numpy() > 0]],
        )

    def reason_out(r: Reason) -> ReasonOut:
        params = dict(r.params)
        named = {
            "node_name": node_name(str(params.get("node", ""))),
            "application_name": app_name(str(params.get("application", ""))),
            "subject_name": t(f"plandiag.subject.{params.get('subject', 'public')}"),
            "stage_name": stage_label(str(params.get("stage", ""))),
        }
        code = r.plan_type.value if r.plan_type else None
        return ReasonOut(
            plan_type=code,
            type_name=type_name(code),
            key=r.key,
            params=params,
            text=t(r.key, **params, **named),
            why=pick(dict(r.why)) if r.why else "",
        )

    by_term: dict[str, list[ApplicationOut]] = {term.value: [] for term in TERMS}
    for a in d.applications:
        by_term[a.term.value].append(
            ApplicationOut(
                code=a.code,
                name=pick({"zh": a.name_zh, "en": a.name_en}),
                domain=a.domain,
                domain_name=node_name(a.domain),
                level=a.level.value,
                term=a.term.value,
                survey_term=a.survey_term.value if a.survey_term else None,
                default_term=a.default_term.value,
                demand=a.demand,
                source=a.source,
                moved=a.moved,
                strong_subjects=[s.value for s in a.strong_subjects],
            )
        )
    primary, secondary = d.primary.value, d.secondary.value if d.secondary else None
    shares = {ts.plan_type.value: ts.share for ts in d.types}
    return DiagnosisReport(
        unit=d.unit,
        name=unit_names(db).get(d.unit, d.unit),
        framework=fw.id,
        framework_title=pick(fw.spec.title.as_dict()),
        run_id=run.id,
        year=year,
        years=years,
        scale=float(fw.spec.scale),
        stage=d.stage,
        stage_name=stage_label(d.stage or ""),
        peers=d.peers,
        surveyed=surveyed,
        has_needs=d.has_needs,
        primary=primary,
        primary_name=type_name(primary),
        secondary=secondary,
        secondary_name=type_name(secondary),
        headline=headline(primary, secondary, shares),
        types=[type_share(ts, d.part_weights) for ts in d.types],
        part_weights=dict(d.part_weights),
        reasons=[reason_out(r) for r in d.reasons],
        dimensions=[node_out(n) for n in d.nodes if n.level == 1],
        indicators=[node_out(n) for n in d.nodes if n.level == 2],
        priorities=[
            PriorityOut(
                node=p.node,
                name=node_name(p.node),
                kind=p.kind,
                kind_name=t(f"plandiag.kind.{p.kind}"),
                weight=p.weight,
                score=p.score,
                gap=p.gap,
                weak=p.weak,
                infrastructure=p.infrastructure,
                applications=list(p.applications),
                application_names=[app_name(c) for c in p.applications],
            )
            for p in d.priorities
        ],
        applications=by_term,
        min_share=dict(d.min_share),
        min_share_text=min_share_text(d.min_share),
        unmapped=list(d.unmapped),
    )


def type_share(ts: TypeScore, used: Mapping[str, float]) -> TypeShare:
    """One plan type's row: raw part scores, its share and each part's piece of the share."""
    part_share = {
        "evaluation": ts.evaluation_share,
        "needs": ts.needs_share,
        "stage": ts.stage_share,
    }
    return TypeShare(
        plan_type=ts.plan_type.value,
        name=type_name(ts.plan_type.value),
        evaluation=round(ts.evaluation, 4),
        needs=round(ts.needs, 4),
        stage=round(ts.stage, 4),
        share=round(ts.share, 6),
        parts={p: round(used.get(p, 0.0) * part_share[p], 6) for p in PARTS},
    )


def headline(primary: str, secondary: str | None, shares: dict[str, float]) -> str:
    """One sentence: the recommended emphasis and its share (and the close second one's)."""
    first = round(100 * shares[primary])
    if secondary is None:
        return t("plandiag.headline.one", type_name=type_name(primary), share=first)
    return t(
        "plandiag.headline.two",
        type_name=type_name(primary),
        share=first,
        second_name=type_name(secondary),
        second=round(100 * shares[secondary]),
    )


def min_share_text(min_share: Mapping[str, float]) -> str:
    """What the suggested minimum shares ask of the optimiser, in one sentence per type."""
    return " ".join(
        t("plandiag.min_share.item", type_name=type_name(p), share=round(100 * s))
        for p, s in min_share.items()
    )
