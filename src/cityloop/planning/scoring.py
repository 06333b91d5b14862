"""Multi-criteria scoring of candidate projects for the top-level design (顶层设计).

TOPSIS on the five placement factors, weighted by the user or by AHP judgments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from numpy.typing import ArrayLike

from cityloop.errors import InputError, Location, Problem
from cityloop.evaluation.weights import ahp_weights

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# The five factors by which a project is placed in a phase: existing foundation (基础条件),
# importance (重要性), construction cycle (建设周期), funding (资金需求), personnel (人员需求).
FACTORS: tuple[str, ...] = ("foundation", "importance", "cycle", "funding", "personnel")
# A better foundation and a greater importance favour a project; a longer cycle, more money
# and more staff count against it.
FACTOR_BENEFIT: tuple[bool, ...] = (True, True, False, False, False)
# Closeness values equal to this many decimals share a rank: the last bits of a
# floating-point closeness are rounding noise, and ranks must not depend on them (a project
# that equals another on every factor but one, where it is better by 1e-15, is a tie).
RANK_DECIMALS = 12

WeightSource = Literal["user", "ahp"]


@dataclass(frozen=True)
class TopsisResult:
    """What the TOPSIS kernel computed for each alternative (one entry per row)."""

    weighted: FloatArray  # the weighted, vector-normalised decision matrix v_ij
    d_best: FloatArray  # Euclidean distance to the ideal alternative
    d_worst: FloatArray  # Euclidean distance to the anti-ideal alternative
    closeness: FloatArray  # d_worst / (d_best + d_worst), in [0, 1]; larger is better
    rank: IntArray  # competition ranking of closeness: 1 is best, ties share the lower rank


@dataclass(frozen=True)
class ProjectScores:
    """The score of every project, with the weights and method that produced it.

    ``table`` is indexed by project code, in input order, with one column per factor (its
    weighted normalised value), then ``d_best``, ``d_worst``, ``closeness`` and ``rank``.
    ``ignored_factors`` are the factors whose value is the same for every project: TOPSIS
    cannot separate projects by them, so they do not affect the result whatever their weight.
    """

    table: pd.DataFrame
    weights: pd.Series
    weight_source: WeightSource
    consistency_ratio: float | None
    ignored_factors: tuple[str, ...]


def competition_rank(scores: FloatArray) -> IntArray:
    """Rank scores from largest to smallest, ties sharing the best rank ("1224" ranking).

    The rank of a score is one plus the number of strictly larger scores, found for all scores
    at once by binary search in the sorted scores.
    """
    ordered = np.sort(scores)
    larger = scores.shape[0] - np.searchsorted(ordered, scores, side="right")
    rank: IntArray = (larger + 1).astype(np.int64)
    return rank


def topsis(matrix: FloatArray, weights: FloatArray, benefit: BoolArray) -> TopsisResult:
    """Rank alternatives by their relative closeness to the ideal solution (TOPSIS).

    The kernel trusts its input: ``matrix`` is (alternatives × criteria), finite and
    non-negative; ``weights`` are non-negative and sum to one; ``benefit[j]`` is True when a
    larger value of criterion j is better. Steps (Hwang & Yoon 1981, §2.3.7):

    1. vector normalisation r_ij = x_ij / sqrt(Σ_i x_ij²), which keeps the ratios between
       alternatives and makes every column unit length;
    2. weighting v_ij = w_j r_ij;
    3. ideal A* and anti-ideal A⁻: per criterion the best and worst v_ij, the maximum being
       the best for a benefit criterion and the minimum for a cost criterion;
    4. Euclidean distances S*_i = ‖v_i − A*‖ and S⁻_i = ‖v_i − A⁻‖;
    5. relative closeness C_i = S⁻_i / (S*_i + S⁻_i).

    Each column is divided by its maximum before the norm is taken (the result is the same,
    and no square underflows or overflows). A column of zeros keeps r = 0 rather than
    dividing by zero; like any constant column it
    has A* = A⁻ and adds nothing to either distance. When every column is constant (all
    alternatives equal), C is the 0/0 limit along the segment from A⁻ to A*, taken as 1/2, so
    that every alternative shares rank 1.

    Parameters
    ----------
    matrix
        Decision matrix, alternatives in rows, criteria in columns.
    weights
        Criterion weights summing to one.
    benefit
        Direction of each criterion: True for benefit (larger is better), False for cost.

    Returns
    -------
    TopsisResult
        Weighted matrix, both distances, closeness and competition rank.

    References
    ----------
    Hwang, C.-L., Yoon, K. (1981). *Multiple Attribute Decision Making: Methods and
    Applications*. Lecture Notes in Economics and Mathematical Systems 186, Springer,
    pp. 128–140. Tzeng, G.-H., Huang, J.-J. (2011). *Multiple Attribute Decision Making:
    Methods and Applications*. CRC Press, ch. 5.
    """
    # Divide by the column maximum before squaring, so that values near 1e±160 neither
    # underflow to a zero norm nor overflow to an infinite one.
    peak = matrix.max(axis=0)
    scaled = matrix / np.where(peak > 0, peak, 1.0)
    norm = np.sqrt(np.einsum("ij,ij->j", scaled, scaled))
    normalised = scaled / np.where(norm > 0, norm, 1.0)
    weighted = normalised * weights
    highest, lowest = weighted.max(axis=0), weighted.min(axis=0)
    ideal = np.where(benefit, highest, lowest)
    anti_ideal = np.where(benefit, lowest, highest)
    d_best = np.sqrt(((weighted - ideal) ** 2).sum(axis=1))
    d_worst = np.sqrt(((weighted - anti_ideal) ** 2).sum(axis=1))
    total = d_best + d_worst
    closeness: FloatArray = np.where(total > 0, d_worst / np.where(total > 0, total, 1.0), 0.5)
    return TopsisResult(
        weighted=weighted,
        d_best=d_best,
        d_worst=d_worst,
        closeness=closeness,
        rank=competition_rank(np.round(closeness, RANK_DECIMALS).astype(np.float64)),
    )


# --- validation and packaging --------------------------------------------------------------


def _table_problems(table: pd.DataFrame) -> list[Problem]:
    """Every fault of the project table: missing columns, codes, and bad factor values."""
    missing = [c for c in ("code", *FACTORS) if c not in table.columns]
    if missing:
        return [Problem("plan.scoring.missing_column", {"column": c}) for c in missing]
    if table.empty:
        return [Problem("plan.scoring.no_projects")]
    problems: list[Problem] = []
    codes = table["code"].astype("string")
    blank = codes.isna() | (codes.str.strip() == "")
    problems += [
        Problem("plan.scoring.blank_code", {}, Location(row=int(i) + 1, column="code"))
        for i in np.flatnonzero(blank.to_numpy())
    ]
    repeated = codes.duplicated(keep="first") & ~blank
    problems += [
        Problem("plan.scoring.duplicate_code", {"code": codes.iloc[i]}, Location(row=int(i) + 1))
        for i in np.flatnonzero(repeated.to_numpy())
    ]
    values = table[list(FACTORS)].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    raw = table[list(FACTORS)].to_numpy(object)
    # Report each bad cell with the value the user typed, not the coerced NaN.
    for key, bad in (
        ("plan.scoring.not_finite", ~np.isfinite(values)),
        ("plan.scoring.negative_value", np.isfinite(values) & (values < 0)),
    ):
        problems += [
            Problem(key, {"value": raw[i, j]}, Location(row=int(i) + 1, column=FACTORS[j]))
            for i, j in np.argwhere(bad)
        ]
    return problems


def _user_weights(weights: Mapping[str, float] | Sequence[float]) -> FloatArray:
    """User weights as a vector over FACTORS, checked and normalised to sum to one."""
    if isinstance(weights, Mapping):
        unknown = sorted(set(weights) - set(FACTORS))
        absent = [f for f in FACTORS if f not in weights]
        problems = [Problem("plan.scoring.weight_unknown", {"factor": f}) for f in unknown]
        problems += [Problem("plan.scoring.weight_missing", {"factor": f}) for f in absent]
        if problems:
            raise InputError("plan.scoring.bad_weights", problems)
        weights = [weights[f] for f in FACTORS]
    try:
        w = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError):
        problem = Problem("plan.scoring.weight_not_numeric")
        raise InputError("plan.scoring.bad_weights", [problem]) from None
    if w.shape != (len(FACTORS),):
        raise InputError(
            "plan.scoring.bad_weights",
            [Problem("plan.scoring.weight_count", {"expected": len(FACTORS), "got": w.size})],
        )
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        raise InputError(
            "plan.scoring.bad_weights",
            [
                Problem("plan.scoring.weight_negative", {"factor": FACTORS[j], "value": w[j]})
                for j in np.flatnonzero(bad)
            ],
        )
    if w.sum() <= 0:
        raise InputError("plan.scoring.bad_weights", [Problem("plan.scoring.weights_zero")])
    normalised: FloatArray = w / w.sum()
    return normalised


def score_projects(
    table: pd.DataFrame,
    *,
    weights: Mapping[str, float] | Sequence[float] | None = None,
    judgments: ArrayLike | None = None,
    max_cr: float = 0.1,
    force: bool = False,
) -> ProjectScores:
    """Score candidate projects on the five factors with TOPSIS, after checking the input.

    Parameters
    ----------
    table
        One row per project: a ``code`` column and the columns of :data:`FACTORS`, each
        finite and non-negative (an importance or foundation score, a cycle in years, money,
        staff). Other columns are ignored.
    weights
        User weights, by factor name or as a sequence in the order of :data:`FACTORS`;
        non-negative, not all zero; normalised to sum to one.
    judgments
        Instead of ``weights``: a 5×5 AHP pairwise-comparison matrix over :data:`FACTORS`,
        turned into weights by :func:`cityloop.evaluation.weights.ahp_weights`.
    max_cr, force
        Passed to ``ahp_weights``: judgments with a consistency ratio above ``max_cr`` are
        refused unless ``force`` is set.

    Returns
    -------
    ProjectScores
        Per project the weighted normalised factor values, distances, closeness and rank;
        the weights used, their source, the AHP consistency ratio and the factors ignored
        because they do not vary.

    Raises
    ------
    InputError
        ``plan.scoring.invalid`` listing every fault of the table (missing column, blank or
        repeated code, non-numeric, infinite or negative value, with row and column);
        ``plan.scoring.bad_weights`` for unusable weights; ``plan.scoring.weights_choice``
        unless exactly one of ``weights`` and ``judgments`` is given;
        ``plan.scoring.nothing_to_rank`` when no weighted factor varies between projects.
    MethodError
        From ``ahp_weights``: a malformed or (unless forced) inconsistent judgment matrix.

    References
    ----------
    Hwang & Yoon (1981), see :func:`topsis`. Saaty, T. L. (2008). Decision making with the
    analytic hierarchy process. *Int. J. Services Sciences* 1(1), 83–98.
    """
    if (weights is None) == (judgments is None):
        raise InputError("plan.scoring.weights_choice")
    problems = _table_problems(table)
    if problems:
        raise InputError("plan.scoring.invalid", problems)
    consistency_ratio: float | None = None
    source: WeightSource
    if judgments is not None:
        size = np.shape(judgments)
        if size != (len(FACTORS), len(FACTORS)):
            raise InputError(
                "plan.scoring.judgments_size",
                expected=len(FACTORS),
                got="×".join(map(str, size)),
            )
        ahp = ahp_weights(judgments, max_cr=max_cr, force=force)
        w, source, consistency_ratio = ahp.weights, "ahp", ahp.consistency_ratio
    else:
        w, source = _user_weights(weights if weights is not None else ()), "user"
    matrix = table[list(FACTORS)].apply(pd.to_numeric).to_numpy(np.float64)
    constant = (matrix == matrix[0]).all(axis=0)
    if (constant | (w == 0)).all():
        raise InputError("plan.scoring.nothing_to_rank")
    result = topsis(matrix, w, np.array(FACTOR_BENEFIT))
    scores = pd.DataFrame(result.weighted, columns=list(FACTORS))
    scores["d_best"], scores["d_worst"] = result.d_best, result.d_worst
    scores["closeness"], scores["rank"] = result.closeness, result.rank
    scores.index = pd.Index(table["code"].astype(str).to_numpy(), name="code")
    return ProjectScores(
        table=scores,
        weights=pd.Series(w, index=list(FACTORS), name="weight"),
        weight_source=source,
        consistency_ratio=consistency_ratio,
        ignored_factors=tuple(f for f, c in zip(FACTORS, constant, strict=True) if c),
    )
