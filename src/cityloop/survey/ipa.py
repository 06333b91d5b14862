"""Importance–performance analysis: where satisfaction falls short of what matters, item by item.

Satisfaction and importance (stated, or derived from the overall question) place each item in
one of four quadrants (Martilla & James 1977); the table is ordered by where to act first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from cityloop.errors import InputError
from cityloop.survey.grouped import ALL
from cityloop.survey.items import AnalysisPlan, Role
from cityloop.survey.satisfaction import estimate_scores, respondent_scores
from cityloop.survey.weighting import _as_weights

FloatArray = npt.NDArray[np.float64]

CONCENTRATE = "concentrate"  # 重点改进区: important, below-par satisfaction
KEEP_UP = "keep_up"  # 继续保持: important and satisfying
LOW_PRIORITY = "low_priority"  # 低优先: neither
OVERKILL = "overkill"  # 过度投入: satisfying beyond its importance
# Where to act first: fix what matters, then what is weak, then guard, then trim.
QUADRANT_ORDER = (CONCENTRATE, LOW_PRIORITY, KEEP_UP, OVERKILL)

Cut = Literal["mean", "midpoint"]


def weighted_correlation(x: FloatArray, y: FloatArray, weights: FloatArray) -> float:
    """Weighted Pearson correlation of ``x`` and ``y`` over respondents who answered both.

    ``r = Σw(x−x̄)(y−ȳ) / √(Σw(x−x̄)² · Σw(y−ȳ)²)``, with weighted means; NaN when fewer than
    two respondents answered both or either variable is constant.
    """
    both = ~(np.isnan(x) | np.isnan(y))
    if both.sum() < 2:
        return float("nan")
    w, a, b = weights[both], x[both], y[both]
    total = w.sum()
    da = a - (w * a).sum() / total
    db = b - (w * b).sum() / total
    denominator = np.sqrt((w * da * da).sum() * (w * db * db).sum())
    return float((w * da * db).sum() / denominator) if denominator > 0 else float("nan")


def derived_importance(
    scores: Mapping[tuple[str, str], FloatArray], weights: FloatArray, mask: npt.ArrayLike
) -> dict[str, float]:
    """Derived importance (0–100 scale: correlation × 100) of each item without a stated one.

    The item's satisfaction is correlated with the overall satisfaction question among the
    respondents selected by ``mask`` (e.g. one year); items whose satisfaction moves with the
    overall judgement matter more to it (Martilla & James 1977, p. 79; the "derived
    importance" of later IPA practice).
    """
    overall = [values for (kind, _), values in scores.items() if kind == "overall"]
    stated = {key for kind, key in scores if kind == "importance"}
    if not overall:
        return {}
    rows = np.asarray(mask, dtype=bool)
    return {
        key: 100.0 * weighted_correlation(values[rows], overall[0][rows], weights[rows])
        for (kind, key), values in scores.items()
        if kind == "item" and key not in stated
    }


def ipa_table(
    plan: AnalysisPlan,
    estimates: pd.DataFrame,
    derived: Mapping[str, float],
    *,
    year: int,
    cut: Cut = "mean",
) -> pd.DataFrame:
    """Quadrant and priority of every satisfaction item, from city-wide estimates of one year.

    Parameters
    ----------
    plan
        The questionnaire's items (their domains).
    estimates
        Output of :func:`cityloop.survey.satisfaction.estimate_scores` with ``item`` and
        ``importance`` rows.
    derived
        Item → derived importance, for items without a stated importance question.
    year
        The year to analyse.
    cut
        ``"mean"``: cross-hairs at the grand means of the items (Martilla & James 1977);
        ``"midpoint"``: at 50 on the 0–100 scale. Derived importances have no scale midpoint,
        so they are always cut at their own mean; stated and derived importances are never
        mixed in one mean.

    Returns
    -------
    pandas.DataFrame
        ``item, domain, satisfaction, satisfaction_low, satisfaction_high, importance,
        importance_low, importance_high, importance_source`` (``stated``/``derived``),
        ``satisfaction_cut, importance_cut`` (the cross-hairs the item was placed by),
        ``quadrant, gap`` (importance − satisfaction) and ``priority`` (1 = act first). Items
        with no importance at all are left out.
    """
    city = estimates[(estimates["group_by"] == ALL) & (estimates["year"] == year)]
    by_kind = {kind: city[city["kind"] == kind].set_index("key") for kind in ("item", "importance")}
    domains = {q.item: q.domain for q in plan.rated if q.role is Role.SATISFACTION}
    satisfaction = by_kind["item"]
    table = pd.DataFrame(
        {
            "item": satisfaction.index,
            "domain": [domains[item] for item in satisfaction.index],
            "satisfaction": satisfaction["value"].to_numpy(),
            "satisfaction_low": satisfaction["low"].to_numpy(),
            "satisfaction_high": satisfaction["high"].to_numpy(),
        }
    )
    stated = by_kind["importance"].reindex(table["item"])
    derived_values = table["item"].map(derived).astype(np.float64).to_numpy()
    has_stated = stated["value"].notna().to_numpy()
    table["importance"] = np.where(has_stated, stated["value"].to_numpy(), derived_values)
    table["importance_low"] = np.where(has_stated, stated["low"].to_numpy(), np.nan)
    table["importance_high"] = np.where(has_stated, stated["high"].to_numpy(), np.nan)
    table["importance_source"] = np.where(has_stated, "stated", "derived")
    table = table[table["importance"].notna()].reset_index(drop=True)
    if table.empty:
        return table.assign(
            satisfaction_cut=[], importance_cut=[], quadrant=[], gap=[], priority=[]
        )
    source_mean = table.groupby("importance_source")["importance"].transform("mean")
    if cut == "midpoint":
        satisfaction_cut: float | pd.Series = 50.0
        importance_cut = source_mean.where(table["importance_source"] == "derived", 50.0)
    elif cut == "mean":
        satisfaction_cut = table["satisfaction"].mean()
        importance_cut = source_mean
    else:
        raise InputError("survey.ipa_cut_invalid", value=cut)
    table["satisfaction_cut"] = satisfaction_cut
    table["importance_cut"] = importance_cut
    important = table["importance"] >= importance_cut
    satisfying = table["satisfaction"] >= satisfaction_cut
    table["quadrant"] = np.select(
        [important & ~satisfying, important & satisfying, ~important & ~satisfying],
        [CONCENTRATE, KEEP_UP, LOW_PRIORITY],
        OVERKILL,
    )
    table["gap"] = table["importance"] - table["satisfaction"]
    rank = table["quadrant"].map({q: i for i, q in enumerate(QUADRANT_ORDER)})
    order = np.lexsort((table["item"].to_numpy(), -table["gap"].to_numpy(), rank.to_numpy()))
    table = table.iloc[order].reset_index(drop=True)
    table["priority"] = np.arange(1, len(table) + 1)
    return table


def importance_performance(
    plan: AnalysisPlan,
    frame: pd.DataFrame,
    weights: npt.ArrayLike,
    *,
    year: int | None = None,
    cut: Cut = "mean",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Importance–performance analysis of one year's responses (default: the latest year).

    Satisfaction per item is its weighted 0–100 index; importance is the item's stated
    importance question when it has one, otherwise the derived importance (see
    :func:`derived_importance`). See :func:`ipa_table` for the quadrants and the order.

    References
    ----------
    Martilla, J. A. & James, J. C. (1977). Importance–performance analysis. *Journal of
    Marketing* 41(1), 77–79.
    """
    w = _as_weights(weights)
    scores = respondent_scores(plan, frame)
    chosen = int(frame["year"].max()) if year is None else year
    wanted = {name: v for name, v in scores.items() if name[0] in ("item", "importance")}
    estimates = estimate_scores(wanted, frame, w, confidence=confidence)
    derived = derived_importance(scores, w, frame["year"].to_numpy() == chosen)
    return ipa_table(plan, estimates, derived, year=chosen, cut=cut)
