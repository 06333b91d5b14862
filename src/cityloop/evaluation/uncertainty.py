"""How robust is a ranking: Monte Carlo over the evaluation's choices, with Sobol indices.

``uncertainty(cube, framework, config, spec)`` re-runs the pipeline for thousands of
replications (weights perturbed, methods swapped, an indicator or dimension left out) as one
vectorised computation per chunk, locally or on a Dask cluster, and summarises the ranks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from importlib import metadata
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cityloop.errors import ConfigError, Location, Problem, schema_problems
from cityloop.evaluation.aggregate import Aggregation
from cityloop.evaluation.config import EvaluationConfig
from cityloop.evaluation.cube import ValuesCube
from cityloop.evaluation.groups import GroupKind
from cityloop.evaluation.missing import Imputation
from cityloop.evaluation.normalise import Normalisation
from cityloop.evaluation.pipeline import evaluate_cube, provenance
from cityloop.evaluation.sensitivity import sobol_indices
from cityloop.evaluation.uncertainty_kernel import ChunkOutput, run_chunk
from cityloop.evaluation.uncertainty_setup import build_setup, chunk_bounds
from cityloop.frameworks.tree import Framework
from cityloop.i18n import pick, t

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class WeightPerturbation(StrEnum):
    NONE = "none"
    UNIFORM = "uniform"  # each weight × U(1 − spread, 1 + spread), re-scaled within its parent
    DIRICHLET = "dirichlet"  # siblings ~ Dir(concentration · w)


class LeaveOut(StrEnum):
    NONE = "none"
    INDICATOR = "indicator"  # each replication leaves out one indicator, or none
    DIMENSION = "dimension"  # each replication leaves out one top-level dimension, or none


class UncertaintySpec(BaseModel):
    """What is uncertain, and how many replications to draw. Empty lists keep the config's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    replications: int = Field(1000, ge=1, le=10_000_000)
    seed: int = 20261201
    weights: WeightPerturbation = WeightPerturbation.UNIFORM
    weight_spread: float = Field(0.2, ge=0, le=1)
    dirichlet_concentration: float = Field(100, gt=0)
    normalisations: list[Normalisation] = Field(default_factory=list)
    aggregations: list[Aggregation] = Field(default_factory=list)
    imputations: list[list[Imputation]] = Field(default_factory=list)
    leave_out: LeaveOut = LeaveOut.NONE
    top_k: int = Field(10, ge=1)
    year: int | None = None
    chunk_size: int | None = Field(None, ge=1)
    sobol: bool = True

    @field_validator("imputations")
    @classmethod
    def _chains_not_empty(cls, value: list[list[Imputation]]) -> list[list[Imputation]]:
        if any(not chain for chain in value):
            raise ValueError("each imputation chain needs at least one method (use [none])")
        return value


def load_spec(spec: UncertaintySpec | Mapping[str, Any] | None) -> UncertaintySpec:
    """A validated spec; a bad field becomes a ``ConfigError`` naming the field."""
    if spec is None:
        return UncertaintySpec()
    if isinstance(spec, UncertaintySpec):
        return spec
    try:
        return UncertaintySpec.model_validate(dict(spec))
    except ValidationError as exc:
        problems = schema_problems(
            exc, lambda loc: Location(file="<uncertainty>", column=".".join(map(str, loc)))
        )
        raise ConfigError("unc.spec_invalid", problems) from None


@dataclass(frozen=True, eq=False)
class UncertaintyResult:
    """Every replication's overall score and rank of every unit for one year, and summaries.

    ``ranks`` are competition ranks (1 = best, ties share the better rank) among the units
    with a score in that replication; a unit without a score has rank 0 and is left out of
    its rank percentiles (``p_top_k`` counts it as outside the top k).
    """

    units: tuple[str, ...]
    year: int
    spec: UncertaintySpec
    config: EvaluationConfig
    point_score: FloatArray
    point_rank: IntArray
    point_stage: IntArray
    ranks: IntArray  # (replication, unit)
    scores: FloatArray  # (replication, unit)
    stages: IntArray  # (replication, unit), −1 = no stage (unbounded scale or no score)
    factors: pd.DataFrame
    rank_shift: FloatArray  # (replication,): mean |rank − point rank|, the Sobol output
    sensitivity: pd.DataFrame  # factor, S1, S1_conf, ST, ST_conf (untranslated)
    factor_labels: Mapping[str, tuple[str, Mapping[str, Any]]]  # factor → catalogue key, params
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def replications(self) -> int:
        return int(self.ranks.shape[0])

    @cached_property
    def summary_table(self) -> pd.DataFrame:
        """Per unit: point rank, median and 5–95 % rank interval, P(top k), P(stage change)."""
        n_units = len(self.units)
        ranked = self.ranks > 0
        # Rank histograms per unit give exact percentiles without sorting replications.
        counts = np.zeros((n_units, n_units + 1))
        unit_idx = np.broadcast_to(np.arange(n_units), self.ranks.shape)
        np.add.at(counts, (unit_idx[ranked], self.ranks[ranked]), 1.0)
        n_ranked = counts.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            cdf = np.cumsum(counts, axis=1) / n_ranked[:, None]

        def rank_quantile(q: float) -> FloatArray:
            # The smallest rank whose cumulative share reaches q (the inverted-CDF quantile).
            found = (cdf < q - 1e-12).sum(axis=1).astype(np.float64)
            return np.where(n_ranked > 0, found, np.nan)

        top = ((self.ranks >= 1) & (self.ranks <= self.spec.top_k)).mean(axis=0)
        defined = (self.stages >= 0) & (self.point_stage >= 0)[None, :]
        changed = (self.stages != self.point_stage[None, :]) & defined
        with np.errstate(invalid="ignore", divide="ignore"):
            p_change = np.where(
                defined.any(axis=0), changed.sum(axis=0) / defined.sum(axis=0), np.nan
            )
        frame = pd.DataFrame(
            {
                "unit": list(self.units),
                "point_rank": self.point_rank,
                "median_rank": rank_quantile(0.5),
                "rank_p05": rank_quantile(0.05),
                "rank_p95": rank_quantile(0.95),
                "p_top_k": top,
                "p_stage_change": p_change,
                "point_score": self.point_score,
                "score_p05": _column_quantile(self.scores, 0.05),
                "score_p95": _column_quantile(self.scores, 0.95),
            }
        )
        unranked = frame["point_rank"] == 0  # units without a point score go last
        return (
            frame.assign(_last=unranked)
            .sort_values(["_last", "point_rank", "unit"], kind="stable")
            .drop(columns="_last")
            .reset_index(drop=True)
        )

    @property
    def sensitivity_table(self) -> pd.DataFrame:
        """Sobol S1 and ST of the mean rank shift per factor, labelled in the current language."""
        labels = []
        for factor in self.sensitivity["factor"]:  # a handful of factors
            key, params = self.factor_labels[factor]
            shown = {k: pick(dict(v)) if isinstance(v, Mapping) else v for k, v in params.items()}
            labels.append(t(key, **shown))
        frame = self.sensitivity.copy()
        frame.insert(1, "label", labels)
        return frame


def _column_quantile(values: FloatArray, q: float) -> FloatArray:
    """Inverted-CDF quantile of each column over its non-NaN entries (NaN if none)."""
    ordered = np.sort(values, axis=0)  # NaN sorts last
    valid = (~np.isnan(values)).sum(axis=0)
    idx = np.clip(np.ceil(q * valid).astype(np.int64) - 1, 0, max(values.shape[0] - 1, 0))
    picked = np.take_along_axis(ordered, idx[None, :], axis=0)[0]
    return np.where(valid > 0, picked, np.nan)


def mean_rank_shift(ranks: IntArray, point_rank: IntArray) -> FloatArray:
    """Mean |rank − point rank| over units ranked in both (Saisana et al. 2005, R̄_S)."""
    both = (ranks > 0) & (point_rank > 0)[None, :]
    shift = np.where(both, np.abs(ranks - point_rank[None, :]), 0).sum(axis=1)
    count = both.sum(axis=1)
    return np.where(count > 0, shift / np.maximum(count, 1), 0.0)


def uncertainty(
    cube: ValuesCube,
    framework: Framework,
    config: EvaluationConfig,
    spec: UncertaintySpec | Mapping[str, Any] | None = None,
    groups: Mapping[str, GroupKind] | None = None,
    *,
    scheduler: Any | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> UncertaintyResult:
    """Uncertainty and sensitivity analysis of the overall ranking for one year.

    Parameters
    ----------
    cube, framework, config, groups
        As for ``evaluate_cube``; ``config`` is the point estimate's configuration.
    spec
        What varies (``UncertaintySpec`` or a mapping of its fields).
    scheduler
        A Dask scheduler address (``"tcp://host:8786"``) or a ``distributed.Client``: chunks
        then run on its workers. ``None`` runs them here. Results are identical either way.
    progress
        Called as ``progress(done, total)`` replications after each chunk.

    Returns
    -------
    UncertaintyResult
        Per-replication scores and ranks, the drawn factors, summaries and Sobol indices.

    References
    ----------
    OECD/JRC (2008), *Handbook on Constructing Composite Indicators*, §7; Saisana, Saltelli &
    Tarantola (2005), *J. R. Stat. Soc. A* 168(2); Saltelli et al. (2010), *Comput. Phys.
    Commun.* 181(2).
    """
    spec = load_spec(spec)
    groups = groups or {}
    year = _year(cube, spec)
    year_index = cube.years.index(year)
    setup = build_setup(cube, framework, config, spec, groups, year_index)
    bounds = chunk_bounds(setup, spec.chunk_size)
    total = setup.replications
    used: dict[str, Any] = {"scheduler": "local", "n_workers": 1}
    if scheduler is None:
        outputs: list[ChunkOutput] = []
        for start, stop in bounds:  # a loop over chunks; each chunk is one vectorised pass
            outputs.append(run_chunk(setup.inputs, start, stop))
            if progress is not None:
                progress(stop, total)
    else:
        from cityloop.evaluation.distributed import map_chunks

        outputs, used = map_chunks(setup.inputs, bounds, scheduler, progress)

    point = evaluate_cube(cube, framework, config, groups)
    ranks = np.concatenate([o.ranks for o in outputs])
    point_rank = point.ranks[:, year_index, -1]
    shift = mean_rank_shift(ranks, point_rank)
    sensitivity = (
        sobol_indices(setup.design, shift, spec.seed)
        if setup.design is not None
        else pd.DataFrame(columns=["factor", "S1", "S1_conf", "ST", "ST_conf"])
    )
    factors = pd.DataFrame(
        np.concatenate([o.factors for o in outputs]), columns=list(setup.factor_columns)
    )
    for name in setup.inputs.discrete:
        factors[name] = factors[name].astype(np.int64)
    return UncertaintyResult(
        units=cube.units,
        year=year,
        spec=spec,
        config=config,
        point_score=point.scores[:, year_index, -1],
        point_rank=point_rank,
        point_stage=point.stages[:, year_index, -1],
        ranks=ranks,
        scores=np.concatenate([o.scores for o in outputs]),
        stages=np.concatenate([o.stages for o in outputs]),
        factors=factors,
        rank_shift=shift,
        sensitivity=sensitivity,
        factor_labels=setup.factor_labels,
        provenance={
            **provenance(cube, framework, config),
            "uncertainty": spec.model_dump(mode="json"),
            "design": "sobol" if setup.design is not None else "monte_carlo",
            "sobol_base": setup.design.base if setup.design is not None else None,
            "replications": total,
            "chunks": len(bounds),
            "salib_version": metadata.version("SALib"),
            **used,
        },
    )


def _year(cube: ValuesCube, spec: UncertaintySpec) -> int:
    if spec.year is None:
        return max(cube.years)
    if spec.year not in cube.years:
        known = ", ".join(map(str, cube.years))
        raise ConfigError(
            "unc.spec_invalid",
            [
                Problem(
                    "unc.unknown_year",
                    {"year": spec.year, "known": known},
                    Location(file="<uncertainty>", column="year"),
                )
            ],
        )
    return spec.year


__all__ = [
    "LeaveOut",
    "UncertaintyResult",
    "UncertaintySpec",
    "WeightPerturbation",
    "load_spec",
    "uncertainty",
]
