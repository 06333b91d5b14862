"""Comparing two evaluation runs: how far the rankings agree, who moved, what the configs changed.

Pure pandas and SciPy on one year's overall results of each run; no store, no web.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

RESULT_COLUMNS = ("unit", "score", "rank", "stage")
COMPARISON_COLUMNS = (
    "unit",
    "score_a",
    "rank_a",
    "stage_a",
    "score_b",
    "rank_b",
    "stage_b",
    "shift",
    "stage_changed",
)


@dataclass(frozen=True)
class RankComparison:
    """Two rankings of the same units side by side, with agreement statistics.

    ``table`` has one row per unit ranked in either run (``COMPARISON_COLUMNS``); ``shift`` is
    ``rank_a − rank_b``, so a positive shift means the unit ranks better (a smaller number) in
    B; it is missing for a unit ranked in only one run. The statistics use the units ranked in
    both runs (``compared``); a correlation is NaN when fewer than two such units, or a ranking
    that is constant on them, leave it undefined.
    """

    table: pd.DataFrame
    compared: int
    spearman: float
    kendall: float
    mean_abs_shift: float
    stage_changes: int
    movers_up: pd.DataFrame
    movers_down: pd.DataFrame


@dataclass(frozen=True)
class ConfigChange:
    """One flattened config key whose value differs between run A and run B (None: absent)."""

    key: str
    a: Any
    b: Any


def compare_rankings(a: pd.DataFrame, b: pd.DataFrame, *, movers: int = 5) -> RankComparison:
    """Compare two rankings of units (columns ``unit, score, rank, stage``, one row per unit).

    Parameters
    ----------
    a, b
        One year's overall results of run A and run B. ``rank`` is the competition rank
        (1 = best); a missing rank means the unit was not ranked in that run.
    movers
        How many units to list among the biggest movers up and down.

    Returns
    -------
    RankComparison
        The side-by-side table (best in B first), Spearman's ρ and Kendall's τ-b of the two
        rank vectors, the mean absolute rank shift, the number of units whose stage changed and
        the ``movers`` largest shifts each way (ties broken by unit code).

    References
    ----------
    Spearman, C. (1904). The proof and measurement of association between two things.
    *American J. Psychology* 15(1), 72–101. Kendall, M. G. (1945). The treatment of ties in
    ranking problems. *Biometrika* 33(3), 239–251 (τ-b).
    """
    left = _results(a).add_suffix("_a").rename(columns={"unit_a": "unit"})
    right = _results(b).add_suffix("_b").rename(columns={"unit_b": "unit"})
    table = left.merge(right, on="unit", how="outer")
    table["shift"] = table["rank_a"] - table["rank_b"]
    both = table["rank_a"].notna().to_numpy() & table["rank_b"].notna().to_numpy()
    table[["stage_a", "stage_b"]] = table[["stage_a", "stage_b"]].fillna("")
    table["stage_changed"] = both & (table["stage_a"].to_numpy() != table["stage_b"].to_numpy())
    table = table.sort_values(["rank_b", "rank_a", "unit"], na_position="last", kind="stable")
    table = table.reset_index(drop=True)[list(COMPARISON_COLUMNS)]

    paired = table[table["rank_a"].notna() & table["rank_b"].notna()]
    rank_a = paired["rank_a"].to_numpy(dtype=np.float64)
    rank_b = paired["rank_b"].to_numpy(dtype=np.float64)
    spearman, kendall = _correlations(rank_a, rank_b)
    shift = paired["shift"].to_numpy(dtype=np.float64)
    return RankComparison(
        table=table,
        compared=len(paired),
        spearman=spearman,
        kendall=kendall,
        mean_abs_shift=float(np.abs(shift).mean()) if shift.size else float("nan"),
        stage_changes=int(paired["stage_changed"].sum()),
        movers_up=_movers(paired[shift > 0], -shift[shift > 0], movers),
        movers_down=_movers(paired[shift < 0], shift[shift < 0], movers),
    )


def _results(frame: pd.DataFrame) -> pd.DataFrame:
    """The four result columns with plain dtypes: float score and rank, text unit and stage."""
    missing = [c for c in RESULT_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"ranking table lacks columns {missing}")
    out = frame[list(RESULT_COLUMNS)].copy()
    out["unit"] = out["unit"].astype(str)
    out["score"] = pd.to_numeric(out["score"], errors="coerce").astype(np.float64)
    out["rank"] = pd.to_numeric(out["rank"], errors="coerce").astype(np.float64)
    out["stage"] = out["stage"].astype(object).where(out["stage"].notna(), "")
    if out["unit"].duplicated().any():
        raise ValueError("ranking table has more than one row for a unit")
    return out


def _correlations(rank_a: np.ndarray, rank_b: np.ndarray) -> tuple[float, float]:
    """Spearman's ρ and Kendall's τ-b; NaN where undefined (n < 2 or a constant ranking)."""
    if rank_a.size < 2 or np.ptp(rank_a) == 0 or np.ptp(rank_b) == 0:
        return float("nan"), float("nan")
    rho = stats.spearmanr(rank_a, rank_b).statistic
    tau = stats.kendalltau(rank_a, rank_b).statistic
    return float(rho), float(tau)


def _movers(frame: pd.DataFrame, key: np.ndarray, count: int) -> pd.DataFrame:
    """The ``count`` rows of ``frame`` with the smallest ``key``, ties by unit code."""
    order = frame.assign(_key=key).sort_values(["_key", "unit"], kind="stable")
    return order.head(count)[["unit", "rank_a", "rank_b", "shift"]].reset_index(drop=True)


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as one level of dotted keys (``weights.ahp.TOTAL.force``); lists and
    scalars are the values."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):  # an empty mapping sets nothing, as an absent one
            flat.update(flatten_config(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def config_changes(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[ConfigChange]:
    """The flattened keys whose values differ between configs ``a`` and ``b``, sorted by key."""
    flat_a, flat_b = flatten_config(a), flatten_config(b)
    return [
        ConfigChange(key, flat_a.get(key), flat_b.get(key))
        for key in sorted(flat_a.keys() | flat_b.keys())
        if flat_a.get(key) != flat_b.get(key)
    ]
