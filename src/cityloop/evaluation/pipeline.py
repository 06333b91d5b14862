"""The evaluation pipeline: impute → treat outliers → normalise → weight → aggregate → rank.

Pure: takes a values cube, a framework, a config and group memberships; returns arrays
wrapped in an ``EvaluationResult``. Every step is a whole-array operation.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from cityloop._version import __version__
from cityloop.errors import ConfigError, InputError, MethodError, Problem
from cityloop.evaluation import weights as weighting
from cityloop.evaluation.aggregate import TreeShape, aggregate_tree
from cityloop.evaluation.config import EvaluationConfig, WeightMethod
from cityloop.evaluation.cube import ValuesCube
from cityloop.evaluation.groups import GroupKind
from cityloop.evaluation.missing import Imputation, coverage, impute
from cityloop.evaluation.normalise import (
    BOUNDED,
    Normalisation,
    goalposts_fallback,
    normalise,
    normalise_min_max,
)
from cityloop.evaluation.outliers import OutlierReport, treat_outliers
from cityloop.evaluation.result import EvaluationResult
from cityloop.evaluation.stages import stage_of
from cityloop.frameworks.tree import Framework

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

DATA_DRIVEN = {
    WeightMethod.ENTROPY: weighting.entropy_weights,
    WeightMethod.CRITIC: weighting.critic_weights,
    WeightMethod.PCA: weighting.pca_weights,
}


@dataclass(frozen=True)
class Prepared:
    """The cube after imputation, exclusion and outlier treatment."""

    values: FloatArray  # (units, years, indicators)
    imputed: BoolArray
    kept: BoolArray  # (units, years)
    raw_coverage: FloatArray
    outliers: OutlierReport


def evaluate_cube(
    cube: ValuesCube,
    framework: Framework,
    config: EvaluationConfig | None = None,
    groups: Mapping[str, GroupKind] | None = None,
) -> EvaluationResult:
    """Run the whole evaluation on ``cube`` and return every node's score, rank and stage."""
    config = config or EvaluationConfig()
    groups = groups or {}
    shape = TreeShape.from_parent(framework.parent, framework.depth)
    target, worst = goalposts_of(framework, config)
    prepared = prepare(cube, framework, config, groups)
    n_units, n_years, n_ind = prepared.values.shape

    normalised = normalise_cube(prepared.values, framework, config, target, worst)
    flat = normalised.reshape(n_units * n_years, n_ind)
    weight = node_weights(framework, config, prepared.values.reshape(-1, n_ind), shape)

    methods = {int(k): v for k, v in config.aggregation.by_level.items()}
    scores = aggregate_tree(
        flat,
        framework.leaf_nodes,
        shape,
        weight,
        methods,
        default=config.aggregation.default,
        geometric_floor=config.aggregation.geometric_floor,
    )
    bounded = config.normalisation.method in BOUNDED
    scale = framework.spec.scale if bounded else 1.0
    scores *= scale
    cube_scores = scores.reshape(n_units, n_years, -1)
    # Ranks and stages are reported for dimensions and the overall index, not indicators.
    ranked = cube_scores[:, :, ranked_nodes(framework)]
    ranks = stats.rankdata(-ranked, axis=0, method="min", nan_policy="omit")
    stage = (
        stage_of(ranked, config.stages.thresholds)
        if bounded
        else np.full(ranked.shape, -1, dtype=np.int64)
    )
    warnings: list[str] = []
    if not bounded:
        warnings.append("eval.warn.no_stage_unbounded")
    fallback = goalposts_fallback(target, worst, framework.direction)
    if config.normalisation.method == Normalisation.GOALPOSTS and fallback.size:
        warnings.append("eval.warn.goalposts_fallback")
    return EvaluationResult(
        framework=framework,
        config=config,
        cube=cube,
        groups=dict(groups),
        prepared_values=prepared.values,
        imputed=prepared.imputed,
        kept=prepared.kept,
        raw_coverage=prepared.raw_coverage,
        outliers=prepared.outliers,
        normalised=normalised,
        weight=weight,
        scores=cube_scores,
        ranks=np.where(np.isnan(ranks), 0, ranks).astype(np.int64),
        stages=stage,
        shape=shape,
        scale=scale,
        warnings=tuple(warnings),
        goalpost_fallback=tuple(framework.indicator_codes[i] for i in fallback),
        provenance=provenance(cube, framework, config),
    )


def ranked_nodes(framework: Framework) -> IntArray:
    """Node columns that get ranks and stages: every dimension, then the overall index."""
    return np.append(np.arange(framework.n_dimensions), framework.n_nodes).astype(np.int64)


def prepare(
    cube: ValuesCube,
    framework: Framework,
    config: EvaluationConfig,
    groups: Mapping[str, GroupKind],
) -> Prepared:
    """Impute, refuse unit-years below the coverage floor, then treat outliers."""
    x = cube.values
    n_units, n_years, n_ind = x.shape
    raw_cov = coverage(x)
    group_ids = None
    needs_group = {Imputation.GROUP_MEAN, Imputation.GROUP_MEDIAN} & set(config.imputation)
    if needs_group:
        kind = groups.get(config.impute_group)
        if kind is None:
            raise ConfigError(
                "eval.config_invalid",
                [
                    Problem(
                        "eval.no_impute_group",
                        {"kind": config.impute_group, "known": ", ".join(sorted(groups)) or "-"},
                    )
                ],
            )
        group_ids = kind.first_group(n_units)
    filled, imputed = impute(x, list(config.imputation), group_ids)
    kept = coverage(filled) >= config.min_coverage
    kept &= raw_cov > 0
    if not kept.any():  # every later step needs at least one unit-year with values
        raise InputError("eval.nothing_to_evaluate", min_coverage=config.min_coverage)
    filled = np.where(kept[:, :, None], filled, np.nan)
    imputed &= kept[:, :, None]
    treated, report = treat_outliers(
        filled.reshape(-1, n_ind),
        config.outliers.method,
        max_skew=config.outliers.max_skew,
        max_kurtosis=config.outliers.max_kurtosis,
        max_winsorised=config.outliers.max_winsorised,
    )
    return Prepared(treated.reshape(n_units, n_years, n_ind), imputed, kept, raw_cov, report)


def goalposts_of(framework: Framework, config: EvaluationConfig) -> tuple[FloatArray, FloatArray]:
    """Each indicator's target and worst value: the framework's, with the config's overrides."""
    target = framework.target.copy()
    unknown = sorted(set(config.targets) - set(framework.indicator_codes))
    if unknown:
        raise ConfigError(
            "eval.config_invalid",
            [Problem("eval.unknown_target_code", {"codes": ", ".join(unknown)})],
        )
    for code, value in config.targets.items():
        target[framework.indicator_codes.index(code)] = value
    return target, framework.worst


def normalise_cube(
    x: FloatArray,
    framework: Framework,
    config: EvaluationConfig,
    target: FloatArray,
    worst: FloatArray,
) -> FloatArray:
    """``x`` (unit, year, indicator) normalised by the config's method and scope."""
    method = config.normalisation.method
    if method == Normalisation.DISTANCE_TO_BEST:
        negative = np.any(x < 0, axis=(0, 1)) & (framework.direction != 0)
        if negative.any():
            codes = [framework.indicator_codes[i] for i in np.flatnonzero(negative)]
            raise MethodError("norm.negative_for_ratio", columns=", ".join(codes))
    args = (framework.direction, framework.band, target, worst)
    if config.normalisation.scope == "per_year":
        return normalise(method, x, *args)  # stats over units, separately for each year
    n_units, n_years, n_ind = x.shape
    return normalise(method, x.reshape(-1, n_ind), *args).reshape(n_units, n_years, n_ind)


def node_weights(
    framework: Framework, config: EvaluationConfig, treated: FloatArray, shape: TreeShape
) -> FloatArray:
    """Within-parent weight of every node (plus a 0 for the root) for the chosen methods.

    Data-driven methods (entropy, CRITIC, PCA) weigh indicators within parents whose children
    are all indicators, from min–max normalised values pooled over all unit-years; dimension
    weights come from the framework or are equal; AHP judgments override named nodes.
    """
    n = framework.n_nodes
    weight = np.append(framework.weight, 0.0)
    parent = framework.parent
    leaf = np.zeros(n, dtype=bool)
    leaf[framework.leaf_nodes] = True
    siblings_all_leaves = np.ones(n + 1, dtype=bool)
    parent_key = np.where(parent < 0, n, parent)
    siblings_all_leaves[parent_key[~leaf]] = False
    leaf_group_ok = siblings_all_leaves[parent_key]
    counts = np.bincount(parent_key, minlength=n + 1).astype(np.float64)

    wc = config.weights
    if wc.upper == WeightMethod.EQUAL:
        upper = ~leaf_group_ok
        weight[:n][upper] = 1.0 / counts[parent_key[upper]]
    if wc.method == WeightMethod.EQUAL:
        weight[:n][leaf_group_ok] = 1.0 / counts[parent_key[leaf_group_ok]]
    elif wc.method in DATA_DRIVEN:
        minmax = normalise_min_max(treated, framework.direction, framework.band)
        leaf_parent = parent_key[framework.leaf_nodes]
        data_w = DATA_DRIVEN[wc.method](minmax, leaf_parent.astype(np.int64))
        take = leaf_group_ok[framework.leaf_nodes]
        weight[framework.leaf_nodes[take]] = data_w[take]
    for code, judgments in wc.ahp.items():
        _apply_ahp(
            framework,
            code,
            judgments.children,
            judgments.matrices,
            force=judgments.force,
            max_cr=wc.max_cr,
            weight=weight,
        )
    return weight


def _apply_ahp(
    framework: Framework,
    code: str,
    children: list[str],
    matrices: list[list[list[float]]],
    *,
    force: bool,
    max_cr: float,
    weight: FloatArray,
) -> None:
    root_code = "TOTAL"
    if code == root_code:
        parent_idx = -1
    elif code in framework.index and framework.index[code] < framework.n_dimensions:
        parent_idx = framework.index[code]
    else:
        raise ConfigError("eval.config_invalid", [Problem("eval.ahp_unknown_node", {"code": code})])
    actual = {framework.codes[i] for i in np.flatnonzero(framework.parent == parent_idx)}
    if set(children) != actual or len(children) != len(actual):
        raise ConfigError(
            "eval.config_invalid",
            [
                Problem(
                    "eval.ahp_children_mismatch",
                    {
                        "code": code,
                        "given": ", ".join(children),
                        "expected": ", ".join(sorted(actual)),
                    },
                )
            ],
        )
    matrix = weighting.combine_judgments(matrices) if len(matrices) > 1 else matrices[0]
    try:
        result = weighting.ahp_weights(matrix, max_cr=max_cr, force=force)
    except MethodError as exc:
        exc.params.setdefault("node", code)
        raise
    weight[[framework.index[c] for c in children]] = result.weights


def provenance(cube: ValuesCube, framework: Framework, config: EvaluationConfig) -> dict[str, Any]:
    """What produced a result: enough to reproduce it bit for bit."""
    spec = json.dumps(framework.spec.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return {
        "framework_id": framework.id,
        "framework_version": framework.version,
        "framework_source": framework.source,
        "framework_hash": hashlib.sha256(spec.encode("utf-8")).hexdigest(),
        "config": config.as_dict(),
        "data_hash": cube.data_hash,
        "units": len(cube.units),
        "years": list(cube.years),
        "indicators": len(cube.indicators),
        "cityloop_version": __version__,
        "numpy_version": np.__version__,
    }
