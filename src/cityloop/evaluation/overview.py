"""The numbers of the city and ranking dashboards: peer medians, the best unit, ranks within
groups, the weakest indicators with the gap to their target, and the ranking's filters.

Pure pandas/NumPy on the long and wide tables of a stored run; no file, session or socket.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

FloatArray = npt.NDArray[np.float64]

# Where a weak indicator's target came from: the framework file, the run's config override,
# the indicator's band (direction "band"), or the best peer value that year (no target known).
TARGET_SOURCES = ("framework", "config", "band", "peers")
HIGHER, LOWER, BAND = 1, -1, 0


def competition_rank(scores: npt.ArrayLike) -> FloatArray:
    """Competition ranks, 1 = highest score; ties share the better rank ("1224" ranking).

    Parameters
    ----------
    scores : array_like
        Scores; NaN means unscored.

    Returns
    -------
    ndarray of float
        The rank of each score; NaN where the score is NaN. Unscored units take no place.
    """
    x = np.asarray(scores, dtype=np.float64)
    out = np.full(x.shape, np.nan)
    scored = ~np.isnan(x)
    out[scored] = stats.rankdata(-x[scored], method="min")
    return out


def group_ranks(
    totals: pd.Series, memberships: pd.DataFrame, kinds: Sequence[str] = ("province", "cluster")
) -> pd.DataFrame:
    """Each scored unit's competition rank within every group of ``kinds`` it belongs to.

    Parameters
    ----------
    totals : pandas.Series
        Total score by unit code (one year); NaN or absent units are not ranked.
    memberships : pandas.DataFrame
        Columns unit, group, kind (``cityloop.datahub.units.Units.memberships``).
    kinds : sequence of str
        The group kinds to rank within.

    Returns
    -------
    pandas.DataFrame
        Columns unit, kind, group, score, rank (1 = best), of (members ranked in the group).
    """
    scored = totals.dropna()
    m = memberships[memberships["kind"].isin(list(kinds)) & memberships["unit"].isin(scored.index)]
    out = pd.DataFrame(
        {
            "unit": m["unit"].astype(str).to_numpy(),
            "kind": m["kind"].astype(str).to_numpy(),
            "group": m["group"].astype(str).to_numpy(),
        }
    )
    out["score"] = scored.reindex(out["unit"]).to_numpy(dtype=np.float64)
    by_group = out.groupby(["kind", "group"])["score"]
    out["rank"] = by_group.rank(method="min", ascending=False).astype(np.int64)
    out["of"] = by_group.transform("size").astype(np.int64)
    return out


def peer_median(scores: pd.DataFrame) -> pd.DataFrame:
    """The median score of the units evaluated, per year and node (a column each).

    Parameters
    ----------
    scores : pandas.DataFrame
        Wide table indexed by (year, unit), one column per node.

    Returns
    -------
    pandas.DataFrame
        Indexed by year, one column per node; units without a score are left out.
    """
    return scores.groupby(level="year").median()


def best_unit(totals: pd.Series) -> str | None:
    """The top-ranked unit: highest total, the smallest code among equals; None if none scored.

    Parameters
    ----------
    totals : pandas.Series
        Total score by unit code (one year).
    """
    scored = totals.dropna()
    if scored.empty:
        return None
    top = scored[scored == scored.max()]
    return str(min(str(code) for code in top.index))


def gap_to_target(
    value: npt.ArrayLike,
    direction: npt.ArrayLike,
    target: npt.ArrayLike,
    band_low: npt.ArrayLike,
    band_high: npt.ArrayLike,
) -> FloatArray:
    """How far a value is from its target, in the indicator's own unit; 0 when it is met.

    Higher is better: ``target − value``; lower is better: ``value − target``; a band: the
    distance to the nearer edge of ``[band_low, band_high]``; never negative. NaN where the
    value or the target is unknown.

    Parameters
    ----------
    value, direction, target, band_low, band_high : array_like
        Broadcastable arrays; ``direction`` is +1 (higher), −1 (lower) or 0 (band).

    Returns
    -------
    ndarray of float
        The gap.
    """
    x = np.asarray(value, dtype=np.float64)
    d = np.asarray(direction)
    tgt = np.asarray(target, dtype=np.float64)
    low = np.asarray(band_low, dtype=np.float64)
    high = np.asarray(band_high, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        below_band = np.fmax(low - x, 0.0) + np.fmax(x - high, 0.0)
        gap = np.where(
            d == HIGHER,
            np.maximum(tgt - x, 0.0),
            np.where(d == LOWER, np.maximum(x - tgt, 0.0), below_band),
        )
    # fmax ignores NaN, so an unknown value needs stating explicitly.
    return np.where(np.isnan(x), np.nan, gap)


def peer_best(values: pd.DataFrame, direction: pd.Series) -> pd.Series:
    """The best peer value of each indicator: the maximum (higher is better) or the minimum.

    Parameters
    ----------
    values : pandas.DataFrame
        Raw values, one row per peer unit, one column per indicator (one year).
    direction : pandas.Series
        +1, −1 or 0 by indicator code; band indicators get NaN (their band is the target).

    Returns
    -------
    pandas.Series
        The best value by indicator code, in the order of ``direction``.
    """
    d = direction.reindex(values.columns)
    best = values.max().where(d == HIGHER, values.min().where(d == LOWER))
    return best.reindex(direction.index)


def weakest_with_gaps(
    scores: pd.DataFrame,
    values: pd.DataFrame,
    spec: pd.DataFrame,
    best: pd.Series,
    n: int = 5,
) -> pd.DataFrame:
    """Every unit's ``n`` weakest indicators in one year, with what each needs to reach its target.

    Weakest means the lowest indicator-level normalised score; ties go to the smaller code, and
    unscored indicators are left out. An indicator without a target aims at the best peer value.

    Parameters
    ----------
    scores : pandas.DataFrame
        Normalised indicator scores, one row per unit, one column per indicator code.
    values : pandas.DataFrame
        Raw values with the same rows and columns as ``scores``.
    spec : pandas.DataFrame
        Indexed by indicator code: direction (+1/−1/0), target (the config override already
        applied; NaN if none), target_source ("framework" or "config"), band_low, band_high.
    best : pandas.Series
        The best peer value that year by indicator code (``peer_best``).
    n : int
        How many indicators per unit.

    Returns
    -------
    pandas.DataFrame
        One row per unit and weak indicator, each unit's weakest first: unit, indicator, score,
        value, direction, target, band_low, band_high, target_source (one of
        ``TARGET_SOURCES``), gap, met.
    """
    scores = scores.sort_index(axis=1)
    codes = scores.columns
    s = scores.to_numpy(dtype=np.float64)
    x = values.reindex(index=scores.index, columns=codes).to_numpy(dtype=np.float64)
    info = spec.reindex(codes)
    k = min(n, len(codes))
    # A stable sort along each row: equal scores keep the code order; NaN goes last.
    order = np.argsort(np.where(np.isnan(s), np.inf, s), axis=1, kind="stable")[:, :k]
    unit = np.repeat(np.arange(len(scores)), k)
    col = order.reshape(-1)
    direction = info["direction"].to_numpy(dtype=np.int64)[col]
    target = info["target"].to_numpy(dtype=np.float64)[col]
    low = info["band_low"].to_numpy(dtype=np.float64)[col]
    high = info["band_high"].to_numpy(dtype=np.float64)[col]
    is_band = direction == BAND
    no_target = np.isnan(target) & ~is_band
    target = np.where(no_target, best.reindex(codes).to_numpy(dtype=np.float64)[col], target)
    source = np.where(
        is_band,
        "band",
        np.where(no_target, "peers", info["target_source"].astype(str).to_numpy()[col]),
    )
    value = x[unit, col]
    gap = gap_to_target(value, direction, target, low, high)
    out = pd.DataFrame(
        {
            "unit": scores.index.to_numpy()[unit],
            "indicator": codes.to_numpy()[col],
            "score": s[unit, col],
            "value": value,
            "direction": direction,
            "target": target,
            "band_low": low,
            "band_high": high,
            "target_source": source,
            "gap": gap,
            "met": gap == 0,
        }
    )
    scored: pd.DataFrame = out[~np.isnan(out["score"].to_numpy())]
    return scored.reset_index(drop=True)


# -- the ranking table ----------------------------------------------------------------------------


def filter_ranking(
    table: pd.DataFrame,
    memberships: pd.DataFrame,
    *,
    province: str | None = None,
    cluster: str | None = None,
    stage: str | None = None,
    query: str | None = None,
) -> pd.DataFrame:
    """The rows of a ranking table that pass every given filter.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per unit with columns unit, province, stage, name_zh, name_en.
    memberships : pandas.DataFrame
        Columns unit, group, kind; ``cluster`` matches groups of kind "cluster".
    province, cluster, stage : str, optional
        Keep units of that province code, cluster name or stage code.
    query : str, optional
        Keep units whose code or (Chinese or English) name contains it, ignoring case.
    """
    keep = np.ones(len(table), dtype=bool)
    if province:
        keep &= (table["province"] == province).to_numpy()
    if stage:
        keep &= (table["stage"] == stage).to_numpy()
    if cluster:
        members = memberships.loc[
            (memberships["kind"] == "cluster") & (memberships["group"] == cluster), "unit"
        ]
        keep &= table["unit"].isin(members).to_numpy()
    if query and query.strip():
        needle = query.strip().lower()
        text = table["unit"].astype(str) + "\n" + table["name_zh"].astype(str)
        text = (text + "\n" + table["name_en"].astype(str)).str.lower()
        keep &= text.str.contains(needle, regex=False).to_numpy()
    return table[keep]


def sort_ranking(table: pd.DataFrame, key: str, descending: bool) -> pd.DataFrame:
    """``table`` ordered by column ``key``; unscored rows last; ties keep the rank order.

    Parameters
    ----------
    table : pandas.DataFrame
        A ranking table with columns ``key``, rank and unit.
    key : str
        The column to sort by.
    descending : bool
        Largest first.
    """
    ordered = table.sort_values(["rank", "unit"], kind="stable", na_position="last")
    return ordered.sort_values(key, ascending=not descending, kind="stable", na_position="last")


def stage_distribution(stages: Iterable[str], order: Sequence[str]) -> dict[str, int]:
    """How many units are in each stage, in ``order`` (zero for an empty stage).

    Parameters
    ----------
    stages : iterable of str
        One stage code per unit.
    order : sequence of str
        The stage codes, lowest first.
    """
    found, counts = np.unique(np.asarray(list(stages), dtype=str), return_counts=True)
    count_of = dict(zip(found.tolist(), counts.tolist(), strict=True))
    return {stage: int(count_of.get(stage, 0)) for stage in order}
