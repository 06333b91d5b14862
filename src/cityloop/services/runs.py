"""Evaluation runs on the stored data: build a config from the run form, check AHP judgments,
evaluate what the database holds and keep the result.

The web app and the CLI both start a run here; reading a stored run back is ``run_results``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from cityloop.errors import CityLoopError, ConfigError, Location, Problem
from cityloop.evaluation import weights as weighting
from cityloop.evaluation.aggregate import Aggregation
from cityloop.evaluation.config import EvaluationConfig, Scope, WeightConfig, WeightMethod
from cityloop.evaluation.missing import Imputation
from cityloop.evaluation.normalise import Normalisation
from cityloop.evaluation.result import TOTAL, EvaluationResult
from cityloop.frameworks import Framework
from cityloop.i18n import pick, t
from cityloop.services.evaluation import DEFAULT_FRAMEWORK as DEFAULT_FRAMEWORK
from cityloop.services.evaluation import evaluate, load_config
from cityloop.services.form_text import split_list
from cityloop.store import Database

# Saaty's fundamental scale: 1 equal … 9 extreme importance of the row over the column, and
# the reciprocals when the column is the more important (Saaty 1980, table 1.1).
SAATY_SCALE = tuple(f"1/{k}" for k in range(9, 1, -1)) + tuple(str(k) for k in range(1, 10))
DEFAULT_MAX_CR = WeightConfig().max_cr
# Config choices the run form offers, in the order it lists them.
CHOICES: dict[str, tuple[str, ...]] = {
    "normalisation": tuple(m.value for m in Normalisation),
    "scope": tuple(s.value for s in Scope),
    "imputation": tuple(i.value for i in Imputation),
    "weights": tuple(w.value for w in WeightMethod),
    "upper": (WeightMethod.FRAMEWORK.value, WeightMethod.EQUAL.value),
    "aggregation": tuple(a.value for a in Aggregation),
}


def evaluate_stored(
    db: Database,
    framework_id: str = DEFAULT_FRAMEWORK,
    config: EvaluationConfig | Mapping[str, Any] | None = None,
    *,
    actor: str,
    years: Sequence[int] | None = None,
) -> tuple[int, EvaluationResult]:
    """Evaluate the stored values of ``framework_id`` (its latest stored version) with the
    stored regions and clusters; record the run; return its id and the result."""
    fw = db.framework(framework_id)
    result = evaluate(db.values_frame(framework_id, years), fw, config, db.units())
    return db.record_run(result, actor), result


# -- the run form ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunForm:
    """What the run form holds, as the user typed it; ``config_mapping`` turns it into a config.

    ``ahp_upper`` are the Saaty-scale judgments of the upper triangle of the pairwise matrix of
    ``ahp_children``, row by row; they go into the config only when ``ahp_use`` is set.
    """

    framework: str = DEFAULT_FRAMEWORK
    years: str = ""
    normalisation: str = Normalisation.MIN_MAX.value
    scope: str = Scope.POOLED.value
    imputation: str = Imputation.NONE.value
    weights: str = WeightMethod.FRAMEWORK.value
    upper: str = WeightMethod.FRAMEWORK.value
    aggregation: str = Aggregation.ARITHMETIC.value
    total_aggregation: str = ""
    thresholds: tuple[str, str, str] = ("40", "60", "80")
    ahp_use: bool = False
    ahp_node: str = TOTAL
    ahp_children: tuple[str, ...] = ()
    ahp_upper: tuple[str, ...] = field(default_factory=tuple)
    ahp_force: bool = False


def config_mapping(form: RunForm) -> dict[str, Any]:
    """The config mapping of a run form; text that is no year or no Saaty judgment is refused
    here, naming the field; everything else is checked by ``load_config``."""
    problems: list[Problem] = []
    years: list[int] | None = None
    if form.years.strip():
        parts = split_list(form.years)
        if not all(p.isdigit() for p in parts):
            problems.append(Problem("runs.bad_years", {"value": form.years}, _field("years")))
        else:
            years = sorted({int(p) for p in parts})
    mapping: dict[str, Any] = {
        "years": years,
        "imputation": [form.imputation],
        "normalisation": {"method": form.normalisation, "scope": form.scope},
        "weights": {"method": form.weights, "upper": form.upper},
        "aggregation": {"default": form.aggregation},
        "stages": {"thresholds": list(form.thresholds)},
    }
    if form.total_aggregation:
        mapping["aggregation"]["by_level"] = {0: form.total_aggregation}
    if form.ahp_use:
        try:
            matrix = reciprocal_matrix(form.ahp_upper, len(form.ahp_children))
        except ValueError:
            problems.append(Problem("runs.bad_judgment", {}, _field("ahp_upper")))
        else:
            mapping["weights"]["ahp"] = {
                form.ahp_node: {
                    "children": list(form.ahp_children),
                    "matrices": [matrix],
                    "force": form.ahp_force,
                }
            }
    if problems:
        raise ConfigError("eval.config_invalid", problems)
    return mapping


def _field(name: str) -> Location:
    return Location(file=t("runs.form.source"), column=name)


def start_run(db: Database, form: RunForm, *, actor: str) -> int:
    """Validate the form's config and evaluate the stored data with it; return the run's id.

    Raises ``ConfigError`` (located problems) for a bad config and ``MethodError`` when a
    method cannot run, e.g. AHP judgments with CR above ``max_cr`` and no ``force``; in either
    case nothing is stored.
    """
    config = load_config(config_mapping(form))
    run_id, _ = evaluate_stored(db, form.framework, config, actor=actor)
    return run_id


# -- AHP judgments --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AHPCheck:
    """Priorities and consistency of one judgment matrix, for the AHP editor and its API."""

    children: list[str]
    weights: list[float]
    lambda_max: float
    ci: float
    cr: float
    max_cr: float
    names: dict[str, str] = field(default_factory=dict)

    @property
    def consistent(self) -> bool:
        return self.cr <= self.max_cr

    @property
    def rows(self) -> list[tuple[str, str, float]]:
        """(code, name, weight) per child, for display."""
        return [
            (c, self.names.get(c, c), w) for c, w in zip(self.children, self.weights, strict=True)
        ]


def saaty_value(text: str) -> float:
    """A judgment of the Saaty scale written as ``"3"`` or ``"1/3"``; ValueError otherwise."""
    if text.strip() not in SAATY_SCALE:
        raise ValueError(f"not a Saaty-scale judgment: {text!r}")
    return float(Fraction(text.strip()))


def reciprocal_matrix(upper: Sequence[str], n: int) -> list[list[float]]:
    """The full reciprocal judgment matrix of ``n`` items from its upper triangle, row by row.

    Raises ValueError when a cell is no Saaty judgment or the count is not n(n − 1)/2.
    """
    rows, cols = np.triu_indices(n, k=1)
    if len(upper) != rows.size:
        raise ValueError(f"{len(upper)} judgments for {n} items, expected {rows.size}")
    values = np.array([saaty_value(v) for v in upper], dtype=np.float64)
    matrix = np.ones((n, n))
    matrix[rows, cols] = values
    matrix[cols, rows] = 1.0 / values
    return [[float(x) for x in row] for row in matrix]


def check_judgments(
    children: Sequence[str],
    matrix: Sequence[Sequence[float]],
    *,
    max_cr: float = DEFAULT_MAX_CR,
    names: Mapping[str, str] | None = None,
) -> AHPCheck:
    """Weights, λmax, CI and CR of a judgment matrix by the engine's AHP (never refused for
    inconsistency: the editor shows the CR; ``MethodError`` for a matrix that is no judgment
    matrix or does not match ``children``)."""
    result = weighting.ahp_weights(matrix, max_cr=max_cr, force=True)
    if result.n != len(children):
        raise ConfigError(
            "eval.config_invalid",
            [Problem("runs.ahp_size", {"children": len(children), "size": result.n})],
        )
    return AHPCheck(
        children=list(children),
        weights=[float(w) for w in result.weights],
        lambda_max=result.lambda_max,
        ci=result.consistency_index,
        cr=result.consistency_ratio,
        max_cr=max_cr,
        names=dict(names or {}),
    )


@dataclass(frozen=True)
class AHPNode:
    """A node whose children the AHP editor can weigh, with those children's codes and names."""

    code: str
    name: str
    children: list[tuple[str, str]]


def ahp_nodes(fw: Framework, lang: str | None = None) -> list[AHPNode]:
    """The overall index and every dimension with two or more children, in framework order."""
    parents = np.concatenate(([-1], np.arange(fw.n_dimensions)))
    nodes = []
    for parent in parents.tolist():  # a few dozen dimensions at most
        kids = fw.children(parent) if parent >= 0 else fw.top_nodes
        if kids.size < 2:
            continue
        code = fw.codes[parent] if parent >= 0 else TOTAL
        name = fw.name(code, lang) if parent >= 0 else t("eval.total", lang)
        children = [(fw.codes[k], fw.name(fw.codes[k], lang)) for k in kids.tolist()]
        nodes.append(AHPNode(code, name, children))
    return nodes


# -- what there is to evaluate, and how a stored config reads ----------------------------------


@dataclass(frozen=True)
class FrameworkChoice:
    id: str
    title: str


def evaluable_frameworks(db: Database) -> list[FrameworkChoice]:
    """The frameworks with stored values, titled in the current language."""
    return [
        FrameworkChoice(fid, pick({"zh": zh, "en": en}))
        for fid, zh, en in db.frameworks_with_values()
    ]


def option_label(kind: str, value: str) -> str:
    """The translated name of a config choice (``kind`` is a key of ``CHOICES``)."""
    return t(f"runs.opt.{kind}.{value}")


def describe_config(config: Mapping[str, Any]) -> dict[str, str]:
    """A stored config in three short phrases: normalisation, weights and aggregation."""
    norm = config.get("normalisation") or {}
    weights = config.get("weights") or {}
    agg = config.get("aggregation") or {}
    normalisation = t(
        "runs.summary.normalisation",
        method=option_label("normalisation", str(norm.get("method", "min_max"))),
        scope=option_label("scope", str(norm.get("scope", "pooled"))),
    )
    weighting_text = t(
        "runs.summary.weights",
        method=option_label("weights", str(weights.get("method", "framework"))),
        upper=option_label("weights", str(weights.get("upper", "framework"))),
    )
    if weights.get("ahp"):
        weighting_text += t("runs.summary.ahp", nodes=", ".join(sorted(weights["ahp"])))
    aggregation = option_label("aggregation", str(agg.get("default", "arithmetic")))
    total = (agg.get("by_level") or {}).get("0")
    if total is None:
        total = (agg.get("by_level") or {}).get(0)
    if total:
        aggregation += t("runs.summary.total", method=option_label("aggregation", str(total)))
    return {"normalisation": normalisation, "weights": weighting_text, "aggregation": aggregation}


@dataclass(frozen=True)
class AHPEditor:
    """The AHP editor's state: the framework's weighable nodes, the chosen one, the judgments
    of its upper triangle (``cells``: row, column, judgment) and their consistency."""

    framework: str
    nodes: list[AHPNode]
    node: AHPNode
    cells: list[tuple[int, int, str]]
    check: AHPCheck
    max_cr: float = DEFAULT_MAX_CR

    def judgment(self, row: int, column: int) -> str:
        """The judgment of ``row`` over ``column`` (upper triangle)."""
        return next(v for i, j, v in self.cells if (i, j) == (row, column))


def ahp_editor(
    db: Database, framework_id: str, node: str = TOTAL, upper: Sequence[str] = ()
) -> AHPEditor:
    """The editor for ``node`` of the stored framework (the overall index when ``node`` is not
    weighable), showing ``upper`` when it fits the node and equal judgments otherwise."""
    nodes = ahp_nodes(db.framework(framework_id))
    if not nodes:
        raise ConfigError("eval.config_invalid", [Problem("runs.ahp_no_nodes", {})])
    chosen = next((n for n in nodes if n.code == node), nodes[0])
    n = len(chosen.children)
    rows, cols = np.triu_indices(n, k=1)
    if len(upper) != rows.size or not all(v in SAATY_SCALE for v in upper):
        upper = ("1",) * rows.size
    codes = [code for code, _ in chosen.children]
    check = check_judgments(codes, reciprocal_matrix(upper, n), names=dict(chosen.children))
    cells = [(int(i), int(j), v) for i, j, v in zip(rows, cols, upper, strict=True)]
    return AHPEditor(framework_id, nodes, chosen, cells, check)


def child_names(db: Database, framework_id: str) -> dict[str, str]:
    """Every node's name in the stored framework (empty for an unknown framework)."""
    try:
        fw = db.framework(framework_id)
    except CityLoopError:
        return {}
    return {code: fw.name(code) for code in fw.codes}
