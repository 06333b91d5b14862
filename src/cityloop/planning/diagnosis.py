"""Diagnosis of a city before its plan: weak and strong dimensions against its peers, the plan-type
emphasis with its reasons, urgent versus important, and the near/middle/long application list.

Pure pandas/NumPy on one year of a stored evaluation and the survey's candidate applications;
the method (mapping and thresholds) is the data of ``plan-types.yaml``. docs/plan-diagnosis.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cityloop.errors import InputError
from cityloop.frameworks import Framework
from cityloop.planning.diagnosis_method import PLAN_TYPES, DiagnosisMethod
from cityloop.planning.diagnosis_parts import (
    NeedRows,
    PlannedApplication,
    Priority,
    Reason,
    need_rows,
    plan_applications,
    priorities,
    reasons,
)
from cityloop.planning.project_types import PlanType
from cityloop.survey.needs import CandidateApplication
from cityloop.survey.needs_dictionary import Application

TYPE_CODES = [p.value for p in PLAN_TYPES]


@dataclass(frozen=True)
class NodeEvidence:
    """Where the unit stands on one dimension (level 1) or second-level indicator (level 2).

    ``percentile`` is the mid-rank share of the other scored units below it (0 worst, 1 best);
    ``rank`` counts from the best (ties share the better rank) among ``of`` scored units;
    ``gap`` is the best unit's score minus the unit's; ``below_own_mean`` is the unit's mean
    over the scored nodes of the same level minus this node's score. NaN where unscored.
    """

    code: str
    level: int
    weight: float
    score: float
    percentile: float
    rank: int
    of: int
    best: float
    gap: float
    below_own_mean: float
    weak_by_peers: bool
    weak_by_own: bool
    weak: bool
    strong: bool


@dataclass(frozen=True)
class TypeScore:
    """One plan type's score from each part (raw and as a share of the part) and its share."""

    plan_type: PlanType
    evaluation: float  # weighted mean gap to the best of the type's nodes, score points
    needs: float  # demand (0–100 per application) that speaks for the type
    stage: float  # the stage's weight on the type (0–1)
    evaluation_share: float
    needs_share: float
    stage_share: float
    share: float


@dataclass(frozen=True)
class Diagnosis:
    """What the diagnosis found for one unit and year; see ``diagnose_unit``."""

    unit: str
    stage: str | None
    peers: int
    nodes: tuple[NodeEvidence, ...]
    types: tuple[TypeScore, ...]
    part_weights: Mapping[str, float]
    primary: PlanType
    secondary: PlanType | None
    reasons: tuple[Reason, ...]
    priorities: tuple[Priority, ...]
    applications: tuple[PlannedApplication, ...]
    min_share: Mapping[str, float]
    has_needs: bool
    unmapped: tuple[str, ...]

    @property
    def dimensions(self) -> tuple[NodeEvidence, ...]:
        return tuple(n for n in self.nodes if n.level == 1)

    @property
    def weak_dimensions(self) -> tuple[NodeEvidence, ...]:
        """Weak dimensions, largest gap to the best first."""
        return tuple(sorted((n for n in self.dimensions if n.weak), key=lambda n: -n.gap))

    @property
    def strong_dimensions(self) -> tuple[NodeEvidence, ...]:
        return tuple(sorted((n for n in self.dimensions if n.strong), key=lambda n: n.gap))


def framework_nodes(fw: Framework) -> pd.DataFrame:
    """The framework's dimensions and second-level nodes: ``level`` (1, 2) and ``weight``, the
    node's share of the whole index (the product of the weights up to the root)."""
    keep = (fw.depth >= 1) & (fw.depth <= 2)
    return pd.DataFrame(
        {"level": fw.depth[keep], "weight": fw.path_weight()[keep]},
        index=pd.Index(np.asarray(fw.codes)[keep], name="node"),
    )


def node_evidence(
    scores: pd.DataFrame, unit: str, nodes: pd.DataFrame, method: DiagnosisMethod, scale: float
) -> pd.DataFrame:
    """Each node's evidence (the fields of ``NodeEvidence``) for ``unit``, one row per node.

    ``scores``: one row per evaluated unit, one column per node code; ``nodes``: index node
    code, columns ``level`` and ``weight`` (share of the whole index). Every column is ranked
    at once; the order of the units does not matter.
    """
    rules = method.rules
    frame = scores.reindex(columns=nodes.index).astype(np.float64)
    own = pd.Series(frame.loc[unit].to_numpy(dtype=np.float64), index=frame.columns)
    of = frame.notna().sum()
    below = frame.rank(method="average") - 1  # units below, ties counted half
    percentile = (below.loc[unit] / (of - 1)).where((of > 1).to_numpy(), 0.5)
    rank = frame.rank(method="min", ascending=False).loc[unit]
    best = frame.max()
    level = nodes["level"].astype(np.int64)
    own_mean = own.groupby(level).transform("mean")
    below_own = own_mean - own
    weak_peers = (percentile < rules.weak_percentile).fillna(False)
    weak_own = (below_own > rules.below_own_mean * scale).fillna(False)
    weak = weak_peers | weak_own
    strong = (percentile >= rules.strong_percentile).fillna(False) & ~weak
    return pd.DataFrame(
        {
            "code": nodes.index.astype(str),
            "level": level,
            "weight": nodes["weight"].astype(np.float64),
            "score": own,
            "percentile": percentile.where(own.notna()),
            "rank": rank.fillna(0).astype(np.int64),
            "of": of.astype(np.int64),
            "best": best,
            "gap": (best - own),
            "below_own_mean": below_own,
            "weak_by_peers": weak_peers.astype(bool),
            "weak_by_own": weak_own.astype(bool),
            "weak": weak.astype(bool),
            "strong": strong.astype(bool),
        },
        index=nodes.index,
    )


def evaluation_part(
    evidence: pd.DataFrame, mapping: pd.DataFrame
) -> tuple[pd.Series, pd.DataFrame]:
    """Each plan type's weighted mean gap to the best over its scored second-level nodes.

    ``E_p = Σ_n a_np w_n gap_n / Σ_n a_np w_n`` over the nodes n with a score, where ``a_np``
    is the node's weight for type p in the mapping and ``w_n`` its share of the whole index:
    how far behind the unit is in the type's area, big nodes counting more. Returns E and the
    contribution ``a_np w_n gap_n`` of every node (for the reasons).
    """
    second = evidence[(evidence["level"] == 2) & evidence["score"].notna()]
    a = mapping.reindex(second.index).fillna(0.0)[TYPE_CODES]
    w = second["weight"].to_numpy(dtype=np.float64)[:, None]
    gap = second["gap"].to_numpy(dtype=np.float64)[:, None]
    contribution = a * (w * gap)
    mass = (a * w).sum()
    part = (contribution.sum() / mass.where(mass > 0)).fillna(0.0)
    return part, contribution


def needs_part(rows: NeedRows, mapping: pd.DataFrame, method: DiagnosisMethod) -> pd.DataFrame:
    """Each stated need's demand split over the plan types: one row per (application, subject).

    A need of demand ``d`` (0–100) is split over the subjects who stated it in proportion to
    their shares; each subject's portion speaks for the types of the application's domain
    (weight ``domain_weight``) and for the subject's own types (the rest). A domain the mapping
    does not know gives its weight to the subject's types.
    """
    alpha = method.rules.domain_weight
    frame = rows.frame
    domain = mapping.reindex(frame["domain"]).to_numpy(dtype=np.float64)
    subject = method.subjects.reindex(frame["subject"]).fillna(0.0)[TYPE_CODES].to_numpy()
    known = ~np.isnan(domain).any(axis=1, keepdims=True)
    mix = np.where(known, alpha * np.nan_to_num(domain) + (1 - alpha) * subject, subject)
    portion = frame["portion"].to_numpy(dtype=np.float64)[:, None]
    return pd.DataFrame(mix * portion, columns=TYPE_CODES, index=frame.index)


def type_shares(
    parts: Mapping[str, pd.Series], method: DiagnosisMethod
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Each part as shares over the plan types and their weighted mix (shares sum to one).

    A part with nothing in it (no gap, no survey, no stage) is left out and the weights of
    the others are renormalised; with no part at all every type gets an equal share.
    """
    table = pd.DataFrame(
        {name: part.reindex(TYPE_CODES).fillna(0.0) for name, part in parts.items()}
    )
    totals = table.sum()
    present = [n for n in table.columns if totals[n] > 0 and method.rules.part_weight(n) > 0]
    weights = {n: method.rules.part_weight(n) for n in present}
    total_weight = sum(weights.values())
    used = {n: weights[n] / total_weight for n in present}
    shares = table / totals.where(totals > 0, 1.0)
    if used:
        mixed = sum(shares[n] * used[n] for n in present)
        table["share"] = mixed
    else:
        table["share"] = 1.0 / len(TYPE_CODES)
    return table.join(shares, rsuffix="_share"), used


def diagnose_unit(
    scores: pd.DataFrame,
    unit: str,
    nodes: pd.DataFrame,
    *,
    framework_id: str,
    scale: float,
    stage: str | None,
    candidates: Sequence[CandidateApplication] | None,
    applications: Mapping[str, Application],
    method: DiagnosisMethod,
) -> Diagnosis:
    """Diagnose ``unit`` from one year's scores of every evaluated unit and its stated needs.

    Parameters
    ----------
    scores
        One row per unit evaluated that year (the peers, ``unit`` among them), one column per
        dimension and second-level node; NaN where a unit has no score.
    unit
        The unit diagnosed.
    nodes
        Index node code (the dimensions and second-level nodes), columns ``level`` (1 or 2)
        and ``weight`` (the node's share of the whole index).
    framework_id
        The framework whose node mapping the method uses.
    scale
        The framework's scale (100 for GB/T 33356); ``below_own_mean`` is a share of it.
    stage
        The unit's development stage that year (digital … smart), None when unknown.
    candidates
        The candidate applications from the unit's surveys; None when it has no survey.
    applications
        The application catalogue (for applications of weak nodes nobody asked for).
    method
        The mapping and the rules (``load_method()``).

    Returns
    -------
    Diagnosis
        The evidence per node, the plan-type shares from each part, the recommended primary
        (and close secondary) emphasis with structured reasons, urgent and important nodes,
        the application list by term and the suggested minimum shares for the optimiser.
    """
    if unit not in scores.index:
        raise InputError("plandiag.not_evaluated", unit=unit)
    mapping = method.framework_nodes(framework_id)
    evidence = node_evidence(scores, unit, nodes, method, scale)
    second = evidence.index[evidence["level"] == 2]
    unmapped = tuple(str(c) for c in second.difference(mapping.index))
    e_part, contributions = evaluation_part(evidence, mapping)
    rows = need_rows(candidates or ())
    needs = needs_part(rows, mapping, method)
    known_stage = stage is not None and stage in method.stages.index
    stage_weights = pd.Series(
        method.stages.loc[str(stage)].to_numpy(dtype=np.float64) if known_stage else 0.0,
        index=TYPE_CODES,
    )
    table, used = type_shares(
        {"evaluation": e_part, "needs": needs.sum(), "stage": stage_weights}, method
    )
    share = table["share"].to_numpy(dtype=np.float64)
    ranked = np.argsort(-share, kind="stable")  # ties keep the PLAN_TYPES order
    order = [TYPE_CODES[i] for i in ranked]
    primary = PlanType(order[0])
    runner_up = share[ranked[1]]
    close = bool(runner_up > 0 and runner_up >= method.rules.secondary_ratio * share[ranked[0]])
    secondary = PlanType(order[1]) if close else None
    min_share = {primary.value: method.rules.min_share_primary}
    if secondary is not None:
        min_share[secondary.value] = method.rules.min_share_secondary
    found = reasons(
        order,
        evidence,
        contributions,
        rows,
        needs,
        stage,
        stage_weights,
        method,
        has_needs=candidates is not None,
        used=used,
    )
    return Diagnosis(
        unit=unit,
        stage=stage,
        peers=len(scores),
        nodes=tuple(
            NodeEvidence(**{str(k): v for k, v in r.items()}) for r in evidence.to_dict("records")
        ),
        types=tuple(_type_score(table, p) for p in order),
        part_weights=used,
        primary=primary,
        secondary=secondary,
        reasons=found,
        priorities=priorities(evidence, mapping, candidates or (), method),
        applications=plan_applications(evidence, candidates or (), applications),
        min_share=min_share,
        has_needs=candidates is not None,
        unmapped=unmapped,
    )


def _type_score(table: pd.DataFrame, code: str) -> TypeScore:
    row = table.loc[code]
    return TypeScore(
        plan_type=PlanType(code),
        evaluation=float(row["evaluation"]),
        needs=float(row["needs"]),
        stage=float(row["stage"]),
        evaluation_share=float(row["evaluation_share"]),
        needs_share=float(row["needs_share"]),
        stage_share=float(row["stage_share"]),
        share=float(row["share"]),
    )
