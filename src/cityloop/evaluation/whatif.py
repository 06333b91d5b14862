"""What-if re-weighting: the overall index and ranking of every unit again, from the stored
first-level dimension scores and new dimension weights, without re-running the pipeline.

Exact for the top level: the overall index is an aggregation of the dimension scores alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from cityloop.errors import ConfigError, Problem
from cityloop.evaluation.aggregate import Aggregation, TreeShape
from cityloop.evaluation.config import EvaluationConfig, WeightMethod
from cityloop.evaluation.normalise import BOUNDED
from cityloop.evaluation.pipeline import node_weights
from cityloop.frameworks.tree import Framework

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class TopLevel:
    """How a run combined its first-level dimensions into the overall index.

    ``codes`` are the dimension codes in framework order, ``weights`` their within-root
    weights as the run used them (framework, equal or AHP), ``scale`` the factor the scores
    were stored on (100 for a 0–100 framework with a bounded normalisation, else 1).
    """

    codes: tuple[str, ...]
    weights: FloatArray
    method: Aggregation
    geometric_floor: float
    scale: float


def top_level(framework: Framework, config: EvaluationConfig) -> TopLevel:
    """The top level of a run evaluated with ``framework`` and ``config``.

    Dimension weights are recomputed as ``pipeline.node_weights`` does; data-driven methods
    weigh only indicators, so they are left out here (they never touch the top level).
    """
    simple = config.weights.model_copy(update={"method": WeightMethod.FRAMEWORK})
    shape = TreeShape.from_parent(framework.parent, framework.depth)
    no_data = np.empty((0, len(framework.indicator_codes)))
    weight = node_weights(framework, config.model_copy(update={"weights": simple}), no_data, shape)
    top = framework.top_nodes
    agg = config.aggregation
    method = {int(k): v for k, v in agg.by_level.items()}.get(0, agg.default)
    bounded = config.normalisation.method in BOUNDED
    return TopLevel(
        codes=tuple(framework.codes[i] for i in top.tolist()),
        weights=weight[top],
        method=Aggregation(method),
        geometric_floor=agg.geometric_floor,
        scale=framework.spec.scale if bounded else 1.0,
    )


def check_weights(codes: tuple[str, ...], weights: FloatArray) -> None:
    """Refuse weights that are negative, not finite or all zero, naming the dimension."""
    problems = [
        Problem("rob.whatif.bad_weight", {"code": code, "value": float(w)})
        for code, w in zip(codes, weights.tolist(), strict=True)
        if not np.isfinite(w) or w < 0
    ]
    if not problems and not weights.sum() > 0:
        problems.append(Problem("rob.whatif.zero_weights", {}))
    if problems:
        raise ConfigError("rob.whatif.invalid", problems)


def reweighted_totals(
    dimension_scores: FloatArray,
    weights: FloatArray,
    method: Aggregation = Aggregation.ARITHMETIC,
    *,
    scale: float = 1.0,
    geometric_floor: float = 0.01,
) -> FloatArray:
    """The overall index of every unit from its dimension scores and dimension weights.

    Parameters
    ----------
    dimension_scores : (n_units, n_dimensions) array
        Scores on the stored scale; NaN where a unit has no score for a dimension.
    weights : (n_dimensions,) array
        Non-negative weights; they need not sum to one.
    method : Aggregation
        Arithmetic: weighted mean; geometric: weighted geometric mean with scores floored at
        ``geometric_floor`` (on the 0–1 scale), as ``aggregate.aggregate_tree`` does.
    scale : float
        The stored scale (scores are divided by it before aggregation and multiplied after,
        so the result matches the engine's to rounding).
    geometric_floor : float
        Lowest score (0–1 scale) a geometric mean takes in, so a zero does not annihilate it.

    Returns
    -------
    (n_units,) array
        Missing dimensions are left out and the present ones re-weighted ("none-and-reweight",
        OECD/JRC Handbook 2008 §4.1); NaN for a unit whose present dimensions weigh nothing.
    """
    unscaled = dimension_scores / scale
    present = ~np.isnan(unscaled)
    denominator = present @ weights
    if method == Aggregation.GEOMETRIC:
        logs = np.log(np.maximum(np.where(present, unscaled, 1.0), geometric_floor))
        with np.errstate(invalid="ignore", divide="ignore"):
            total = np.exp((np.where(present, logs, 0.0) @ weights) / denominator)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            total = (np.where(present, unscaled, 0.0) @ weights) / denominator
    result: FloatArray = np.where(denominator > 0, total, np.nan) * scale
    return result


def competition_ranks(totals: FloatArray) -> IntArray:
    """Rank 1 for the best total, ties sharing the better rank (as the engine ranks); 0 for NaN."""
    ranks = stats.rankdata(-totals, method="min", nan_policy="omit")
    return np.where(np.isnan(totals), 0, ranks).astype(np.int64)
