"""What-if re-weighting of a stored run: new first-level dimension weights, the new overall
index and ranking of every unit at once, for the web page, its JSON API and scripts.

The run's dimension scores come from the dashboards' run cache (runs never change), so a
re-weighting costs one small matrix product, not a database read.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cityloop.errors import ConfigError, Problem
from cityloop.evaluation.aggregate import Aggregation
from cityloop.evaluation.whatif import (
    TopLevel,
    check_weights,
    competition_ranks,
    reweighted_totals,
    top_level,
)
from cityloop.i18n import current_language
from cityloop.services.dashboard_cache import (
    RUNS_KEPT,
    Cache,
    NoRunError,
    choose_year,
    regions,
    run_view,
    visible,
)
from cityloop.services.evaluation import load_config
from cityloop.store import Database

# Derived from a cached run view and keyed by it: as immutable as the run itself.
TOP_LEVELS: Cache[tuple[str, int, str], TopLevel] = Cache(RUNS_KEPT)


@dataclass(frozen=True)
class Dimension:
    """One first-level dimension: its code, name, and weight in the run (sums to one)."""

    code: str
    name: str
    run_weight: float


@dataclass(frozen=True)
class WhatIf:
    """A run re-weighted: every visible unit's new and stored total and rank in ``year``.

    ``table`` columns: unit, name, total, rank, run_total, run_rank, shift (places gained:
    run rank − new rank) and one column per dimension code with the unit's stored score;
    best new rank first. Ranks are among all units the run evaluated that year, as stored.
    ``weights`` are the weights applied, scaled to sum to one.
    """

    run_id: int
    year: int
    years: tuple[int, ...]
    method: Aggregation
    dimensions: tuple[Dimension, ...]
    weights: dict[str, float]
    ranked: int
    table: pd.DataFrame

    @property
    def changed(self) -> int:
        """How many visible units moved."""
        return int((self.table["shift"].fillna(0) != 0).sum())


def whatif(
    db: Database,
    run_id: int,
    weights: Mapping[str, float] | None = None,
    year: int | None = None,
    visible: Collection[str] | None = None,
) -> WhatIf:
    """Re-weight run ``run_id``'s first-level dimensions and rank every unit again.

    Parameters
    ----------
    db : Database
        Where the run is stored.
    run_id : int
        The stored run (``NoRunError`` ``dash.unknown_run`` when there is none).
    weights : mapping of dimension code to weight, optional
        Non-negative relative weights; a dimension left out keeps its weight in the run, an
        unknown code is refused. None: the run's own weights (the stored ranking again).
    year : int, optional
        A year of the run (default: its latest).
    visible : collection of unit codes, optional
        The units the caller may see (None: all); the others are ranked but not returned.
    """
    view = run_view(db, run_id, None)
    top = TOP_LEVELS.get(view.key, lambda: top_level(view.framework, load_config(view.run.config)))
    chosen = choose_year(view, year)
    applied = applied_weights(top, weights)
    scores = view.by_year[chosen]
    matrix = scores.dimensions.reindex(columns=list(top.codes)).to_numpy(dtype=np.float64)
    totals = reweighted_totals(
        matrix, applied, top.method, scale=top.scale, geometric_floor=top.geometric_floor
    )
    ranks = competition_ranks(totals)
    units = scores.totals.index.astype(str)
    table = pd.DataFrame(
        {
            "unit": units,
            "total": totals,
            "rank": pd.Series(ranks, dtype="Int64").where(ranks > 0).array,
            "run_total": scores.totals["score"].to_numpy(dtype=np.float64),
            "run_rank": scores.totals["rank"].astype("Int64").array,
        }
    )
    table["shift"] = table["run_rank"] - table["rank"]
    table = pd.concat([table, pd.DataFrame(matrix, columns=list(top.codes))], axis=1)
    if visible is not None:
        table = table[table["unit"].isin(set(visible))]
    table.insert(1, "name", unit_labels(db, table["unit"]))
    table = table.sort_values(["rank", "unit"], na_position="last", kind="stable")
    fw = view.framework
    return WhatIf(
        run_id=run_id,
        year=chosen,
        years=view.years,
        method=top.method,
        dimensions=tuple(
            Dimension(code, fw.name(code), float(w))
            for code, w in zip(top.codes, top.weights.tolist(), strict=True)
        ),
        weights=dict(zip(top.codes, (applied / applied.sum()).tolist(), strict=True)),
        ranked=int((ranks > 0).sum()),
        table=table.reset_index(drop=True),
    )


def applied_weights(top: TopLevel, weights: Mapping[str, float] | None) -> np.ndarray:
    """The run's dimension weights with ``weights`` put in; unknown codes and negative, non-
    finite or all-zero weights are refused, naming the dimension."""
    applied = top.weights.astype(np.float64).copy()
    if weights is None:
        return applied
    unknown = sorted(set(weights) - set(top.codes))
    if unknown:
        problem = Problem("rob.whatif.unknown_dimension", {"codes": ", ".join(unknown)})
        raise ConfigError("rob.whatif.invalid", [problem])
    index = {code: i for i, code in enumerate(top.codes)}
    for code, value in weights.items():  # a handful of dimensions
        applied[index[code]] = float(value)
    check_weights(top.codes, applied)
    return applied


def visible_to(db: Database, scope: str | None) -> frozenset[str] | None:
    """The units a user of ``scope`` may see (None: all), from the cached regions."""
    if scope is None:
        return None
    try:
        return visible(regions(db), scope)
    except NoRunError:  # no regions stored: a scoped user sees nothing
        return frozenset()


def unit_labels(db: Database, units: pd.Series) -> pd.Series:
    """Each unit's name in the reader's language (Chinese where no English one), else its code."""
    try:
        labels = regions(db).labels
    except NoRunError:
        return units
    names = labels["name_zh"]
    if current_language() == "en":
        names = labels["name_en"].where(labels["name_en"].str.len() > 0, names)
    named: pd.Series = units.map(names).fillna(units)
    return named
