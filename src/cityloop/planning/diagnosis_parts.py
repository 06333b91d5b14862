"""The parts of a diagnosis built from its evidence: the reasons shown for each plan type, the
urgent and important nodes, and the application list by term (docs/plan-diagnosis.md).

Pure functions over the frames of ``cityloop.planning.diagnosis``; reasons are translation keys
with parameters (codes and numbers), rendered in the reader's language by the service.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cityloop.planning.diagnosis_method import DiagnosisMethod
from cityloop.planning.project_types import PlanType
from cityloop.survey.items import NeedLevel, Subject, Term
from cityloop.survey.needs import TERMS, CandidateApplication
from cityloop.survey.needs_dictionary import Application

REASONS_PER_PART = 2  # the strongest evidence of each part per plan type; the tables show all
PRIORITY_KINDS = ("urgent_important", "urgent", "important")
NEED_COLUMNS = ["application", "domain", "subject", "share", "demand", "rank"]


@dataclass(frozen=True)
class Reason:
    """One reason shown for a plan type (None: about the diagnosis as a whole).

    ``key`` is a ``plandiag.reason.*`` translation key; ``params`` hold numbers and the codes
    of a ``node``, ``application``, ``subject`` or ``stage``, which the service names in the
    reader's language; ``why`` is the mapping's rationale ``{zh, en}`` behind it, if any.
    """

    plan_type: PlanType | None
    key: str
    params: Mapping[str, Any] = field(default_factory=dict)
    why: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Priority:
    """A second-level node to act on: urgent (weak and strongly demanded), important (a big
    share of the index or infrastructure the applications need, not yet strong), or both."""

    node: str
    kind: str
    weight: float
    score: float
    gap: float
    weak: bool
    infrastructure: bool
    applications: tuple[str, ...]


@dataclass(frozen=True)
class PlannedApplication:
    """An application in the near/middle/long-term list and where its term came from.

    ``source`` is ``survey`` (a stated need; ``survey_term`` is the survey's term) or
    ``evaluation`` (nobody asked for it, but its domain is weak). ``moved`` is True when the
    evaluation moved it one term earlier (its domain is weak).
    """

    code: str
    name_zh: str
    name_en: str
    domain: str
    level: NeedLevel
    term: Term
    survey_term: Term | None
    default_term: Term
    demand: float | None
    source: str
    moved: bool
    strong_subjects: tuple[Subject, ...]


@dataclass(frozen=True)
class NeedRows:
    """Every (application, subject) a survey stated, with the portion of the application's
    demand it carries: ``demand × share / Σ shares of the subjects who stated it``."""

    frame: pd.DataFrame


def need_rows(candidates: Sequence[CandidateApplication]) -> NeedRows:
    """One row per application and subject that stated it (columns ``NEED_COLUMNS`` and
    ``portion``); the portions of an application add up to its demand."""
    records = [
        (c.code, c.domain, e.subject.value, e.share, c.demand, c.rank)
        for c in candidates
        for e in c.evidence
    ]
    frame = pd.DataFrame(records, columns=NEED_COLUMNS).astype(
        {"share": np.float64, "demand": np.float64}
    )
    total = frame.groupby("application")["share"].transform("sum")
    frame["portion"] = (frame["demand"] * frame["share"] / total.where(total > 0)).fillna(0.0)
    return NeedRows(frame)


def _gap_reason(plan_type: PlanType, node: str, e: pd.Series, why: Any) -> Reason:
    of = int(e["of"])
    params = {
        "node": node,
        "score": round(float(e["score"]), 1),
        "rank": int(e["rank"]),
        "of": of,
        "bottom": max(1, round(100 * (of - int(e["rank"]) + 1) / of)),
        "gap": round(float(e["gap"]), 1),
        "below": round(float(e["below_own_mean"]), 1),
    }
    key = "gap"
    if e["weak_by_peers"]:
        key = "weak_peers"
    elif e["weak_by_own"]:
        key = "weak_own"
    return Reason(plan_type, f"plandiag.reason.{key}", params, why)


def reasons(
    order: Sequence[str],
    evidence: pd.DataFrame,
    contributions: pd.DataFrame,
    rows: NeedRows,
    needs: pd.DataFrame,
    stage: str | None,
    stage_weights: pd.Series,
    method: DiagnosisMethod,
    *,
    has_needs: bool,
    used: Mapping[str, float],
) -> tuple[Reason, ...]:
    """For each plan type (in ``order``), the nodes that add most to its evaluation part, the
    stated needs that add most to its needs part and its stage weight; then what is missing."""
    why = method.why
    found: list[Reason] = []
    for code in order:
        plan_type = PlanType(code)
        if "evaluation" in used:
            top = contributions[code][contributions[code] > 0].nlargest(REASONS_PER_PART)
            for node in top.index:
                found.append(
                    _gap_reason(
                        plan_type, str(node), evidence.loc[node], why.get(("node", str(node)))
                    )
                )
        if "needs" in used:
            top = needs[code][needs[code] > 0].nlargest(REASONS_PER_PART)
            for index in top.index:
                r = rows.frame.loc[index]
                found.append(
                    Reason(
                        plan_type,
                        "plandiag.reason.need",
                        {
                            "application": str(r["application"]),
                            "subject": str(r["subject"]),
                            "share": round(100 * float(r["share"]), 1),
                            "demand": round(float(r["demand"]), 1),
                        },
                        why.get(("node", str(r["domain"]))) or why.get(("subject", r["subject"])),
                    )
                )
        if stage is not None and "stage" in used and stage_weights.get(code, 0.0) > 0:
            found.append(
                Reason(
                    plan_type, "plandiag.reason.stage", {"stage": stage}, why.get(("stage", stage))
                )
            )
    if not has_needs:
        found.append(Reason(None, "plandiag.reason.no_survey"))
    elif "needs" not in used:
        found.append(Reason(None, "plandiag.reason.no_needs"))
    if "evaluation" not in used:
        found.append(Reason(None, "plandiag.reason.no_gap"))
    return tuple(found)


def priorities(
    evidence: pd.DataFrame,
    mapping: pd.DataFrame,
    candidates: Sequence[CandidateApplication],
    method: DiagnosisMethod,
) -> tuple[Priority, ...]:
    """Urgent and important second-level nodes, both first, each by weighted gap.

    Urgent: weak, and one of its applications is stated strongly by a subject or is among the
    top ``urgent_top_share`` of the candidates by demand. Important: at least
    ``important_weight`` of the whole index, or at least ``infrastructure_weight`` for the
    infrastructure type; and not strong (or weak by the unit's own mean).
    """
    rules = method.rules
    second = evidence[(evidence["level"] == 2) & evidence["score"].notna()]
    top = math.ceil(rules.urgent_top_share * len(candidates))
    demanded = pd.DataFrame(
        [(c.domain, c.code) for c in candidates if c.strong_subjects or c.rank <= top],
        columns=["node", "application"],
    )
    apps = demanded.groupby("node")["application"].agg(tuple)
    infra = mapping.reindex(second.index)[PlanType.INFRASTRUCTURE.value].fillna(0.0)
    infrastructure = infra >= rules.infrastructure_weight
    urgent = second["weak"] & second.index.isin(apps.index)
    important = ((second["weight"] >= rules.important_weight) | infrastructure) & (
        ~second["strong"] | second["weak"]
    )
    kind = pd.Series(
        np.select([urgent & important, urgent, important], PRIORITY_KINDS, ""), second.index
    )
    chosen = second.assign(
        kind=kind,
        order=kind.map({k: i for i, k in enumerate(PRIORITY_KINDS)}),
        weighted=-second["weight"] * second["gap"],
        infrastructure=infrastructure,
    )[kind != ""].sort_values(["order", "weighted"], kind="stable")
    return tuple(
        Priority(
            node=str(node),
            kind=str(r["kind"]),
            weight=float(r["weight"]),
            score=float(r["score"]),
            gap=float(r["gap"]),
            weak=bool(r["weak"]),
            infrastructure=bool(r["infrastructure"]),
            applications=tuple(apps.get(node, ())),
        )
        for node, r in chosen.iterrows()
    )


def plan_applications(
    evidence: pd.DataFrame,
    candidates: Sequence[CandidateApplication],
    catalogue: Mapping[str, Application],
) -> tuple[PlannedApplication, ...]:
    """The near/middle/long-term application list.

    A stated need keeps the survey's term, moved one term earlier (never before near) when its
    domain (a second-level node) is weak. An application of a weak domain nobody asked for is
    added with the catalogue's default term, marked as driven by the evaluation. Ordered by
    term, stated needs first by demand, then the evaluation's by catalogue order.
    """
    weak = set(evidence.index[(evidence["level"] == 2) & evidence["weak"]].astype(str))
    planned = [
        PlannedApplication(
            code=c.code,
            name_zh=c.name_zh,
            name_en=c.name_en,
            domain=c.domain,
            level=c.level,
            term=TERMS[max(TERMS.index(c.term) - (c.domain in weak), 0)],
            survey_term=c.term,
            default_term=c.default_term,
            demand=c.demand,
            source="survey",
            moved=c.domain in weak and c.term != Term.NEAR,
            strong_subjects=c.strong_subjects,
        )
        for c in candidates
    ]
    asked = {c.code for c in candidates}
    planned += [
        PlannedApplication(
            code=a.code,
            name_zh=a.name_zh,
            name_en=a.name_en,
            domain=a.domain,
            level=a.level,
            term=a.term,
            survey_term=None,
            default_term=a.term,
            demand=None,
            source="evaluation",
            moved=False,
            strong_subjects=(),
        )
        for a in catalogue.values()
        if a.domain in weak and a.code not in asked
    ]
    position = {code: i for i, code in enumerate(catalogue)}

    def order(p: PlannedApplication) -> tuple[int, bool, float, int, str]:
        catalogue_order = position.get(p.code, len(position))
        return (
            TERMS.index(p.term),
            p.source != "survey",
            -(p.demand or 0.0),
            catalogue_order,
            p.code,
        )

    return tuple(sorted(planned, key=order))
