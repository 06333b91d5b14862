"""Setting up an uncertainty analysis: the normalised matrices of every option, the factors.

Each (imputation chain, normalisation) option pair is prepared and normalised ONCE over the
whole cube, exactly as ``evaluate_cube`` does, and the analysed year sliced out; replications
then only index these matrices. Also lays out the uncertain factors and the chunks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from cityloop.evaluation.aggregate import Aggregation, TreeShape
from cityloop.evaluation.config import EvaluationConfig
from cityloop.evaluation.cube import ValuesCube
from cityloop.evaluation.groups import GroupKind
from cityloop.evaluation.normalise import BOUNDED
from cityloop.evaluation.pipeline import goalposts_of, node_weights, normalise_cube, prepare
from cityloop.evaluation.sensitivity import SobolDesign, sobol_design
from cityloop.evaluation.uncertainty_kernel import ChunkInputs, TreePlan
from cityloop.frameworks.tree import Framework

if TYPE_CHECKING:
    from cityloop.evaluation.uncertainty import UncertaintySpec

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

CHUNK_BYTES = 128 * 2**20  # per-replication outputs of one chunk
BATCH_BYTES = 8 * 2**20  # working arrays of one kernel call
TOTAL = "TOTAL"


@dataclass(frozen=True)
class Setup:
    inputs: ChunkInputs
    design: SobolDesign | None
    replications: int
    factor_columns: tuple[str, ...]  # weight factors, then discrete factors
    factor_labels: dict[str, tuple[str, dict[str, Any]]]


def build_setup(
    cube: ValuesCube,
    framework: Framework,
    config: EvaluationConfig,
    spec: UncertaintySpec,
    groups: Mapping[str, GroupKind],
    year_index: int,
) -> Setup:
    """Prepare every option once and lay out the factors and the design."""
    shape = TreeShape.from_parent(framework.parent, framework.depth)
    target, worst = goalposts_of(framework, config)
    chains = spec.imputations or [list(config.imputation)]
    methods = spec.normalisations or [config.normalisation.method]
    n_ind = len(framework.indicator_codes)
    leaves = np.empty((len(chains), len(methods), len(cube.units), n_ind))
    base_weight = np.empty((len(chains), framework.n_nodes + 1))
    # A loop over the handful of options, each one whole-cube pass of the pipeline's own steps.
    for i, chain in enumerate(chains):
        chosen = config.model_copy(update={"imputation": list(chain)})
        prepared = prepare(cube, framework, chosen, groups)
        base_weight[i] = node_weights(framework, chosen, prepared.values.reshape(-1, n_ind), shape)
        for j, method in enumerate(methods):
            norm = chosen.normalisation.model_copy(update={"method": method})
            normalised = normalise_cube(
                prepared.values,
                framework,
                chosen.model_copy(update={"normalisation": norm}),
                target,
                worst,
            )
            leaves[i, j] = normalised[:, year_index, :]
    aggregations: list[tuple[Aggregation, Mapping[int, Aggregation]]] = (
        [(a, {}) for a in spec.aggregations]
        if spec.aggregations
        else [
            (
                config.aggregation.default,
                {int(k): v for k, v in config.aggregation.by_level.items()},
            )
        ]
    )
    bounded = np.array([m in BOUNDED for m in methods])

    labels: dict[str, tuple[str, dict[str, Any]]] = {}
    weight_nodes, weight_factor = _weight_variables(framework, spec, labels)
    names = list(dict.fromkeys(weight_factor))
    weight_group = np.full(framework.n_nodes + 1, -1, dtype=np.int64)
    weight_group[weight_nodes] = [names.index(f) for f in weight_factor]

    discrete: dict[str, int] = {}
    if len(methods) > 1:
        discrete["normalisation"] = len(methods)
    if len(aggregations) > 1:
        discrete["aggregation"] = len(aggregations)
    if len(chains) > 1:
        discrete["imputation"] = len(chains)
    left = np.array([-1], dtype=np.int64)
    if spec.leave_out != "none":
        nodes = framework.leaf_nodes if spec.leave_out == "indicator" else framework.top_nodes
        left = np.append(-1, nodes).astype(np.int64)
        discrete["leave_out"] = left.size
    for name in discrete:
        labels[name] = (f"unc.factor.{name}", {})
    if spec.leave_out != "none":
        labels["leave_out"] = (f"unc.factor.leave_out_{spec.leave_out}", {})

    factors = [*names, *discrete]
    design = None
    if spec.sobol and len(factors) >= 2:
        variables = [f"w{n}" for n in weight_nodes] + list(discrete)
        design = sobol_design(variables, [*weight_factor, *discrete], spec.replications, spec.seed)
    plan = TreePlan.from_tree(framework.parent, framework.depth, framework.n_dimensions)
    inputs = ChunkInputs(
        plan=plan,
        leaves=leaves,
        base_weight=base_weight,
        scale=np.where(bounded, framework.spec.scale, 1.0),
        bounded=bounded,
        aggregations=tuple(aggregations),
        geometric_floor=config.aggregation.geometric_floor,
        thresholds=config.stages.thresholds,
        perturbation=str(spec.weights),
        spread=spec.weight_spread,
        concentration=spec.dirichlet_concentration,
        weight_nodes=weight_nodes,
        weight_group=weight_group,
        n_weight_groups=len(names),
        parent=shape.parent,
        discrete=tuple(discrete),
        n_options=np.array(list(discrete.values()), dtype=np.int64),
        leave_out_nodes=left,
        seed=spec.seed,
        design=design.points if design is not None else None,
        batch=_batch_size(plan, len(cube.units)),
    )
    replications = design.points.shape[0] if design is not None else spec.replications
    return Setup(inputs, design, replications, tuple(factors), labels)


def _weight_variables(
    framework: Framework, spec: UncertaintySpec, labels: dict[str, tuple[str, dict[str, Any]]]
) -> tuple[IntArray, list[str]]:
    """Perturbed nodes (those with siblings) and the factor each belongs to.

    One factor for the weights of the top-level dimensions, and one per top-level dimension
    for all the weights inside its subtree: few enough factors for a Saltelli design, and
    each answers a question a panel asks ("do the weights inside 惠民服务 matter?").
    """
    active = spec.weights == "dirichlet" or (spec.weights == "uniform" and spec.weight_spread > 0)
    if not active:
        return np.zeros(0, dtype=np.int64), []
    parent = framework.parent
    siblings = np.bincount(np.where(parent < 0, framework.n_nodes, parent))
    nodes = np.flatnonzero(siblings[np.where(parent < 0, framework.n_nodes, parent)] >= 2)
    top = np.arange(framework.n_nodes)
    # Walk every node up to its top-level ancestor at once: one pass per tree level.
    while np.any(parent[top] >= 0):
        top = np.where(parent[top] >= 0, parent[top], top)
    factor = []
    for node in nodes.tolist():  # node-level labels only; the maths never loops over nodes
        if parent[node] < 0:
            name = "weights:" + TOTAL
            labels[name] = ("unc.factor.weights_top", {})
        else:
            code = framework.codes[int(top[node])]
            name = "weights:" + code
            names = framework.dimensions[int(top[node])].name.as_dict()  # picked when shown
            labels[name] = ("unc.factor.weights_within", {"code": code, "name": names})
        factor.append(name)
    return nodes.astype(np.int64), factor


def _batch_size(plan: TreePlan, n_units: int) -> int:
    """Replications per kernel call so its largest arrays stay near ``BATCH_BYTES``.

    Arrays of a few MiB are reused from the heap; big ones are mapped fresh from the kernel on
    every call, and on a VM those page faults cost more than the arithmetic itself.
    """
    widest = max((level.n_parents for level in plan.levels), default=1)
    per_rep = 8 * n_units * (plan.n_slots + 2 * widest + 2)
    return max(64, BATCH_BYTES // per_rep // 64 * 64)  # whole tiles of the BLAS kernels


def chunk_bounds(setup: Setup, chunk_size: int | None) -> list[tuple[int, int]]:
    """Replication ranges of the chunks (the unit of progress and of Dask tasks).

    By default a chunk is the batches that fit ``CHUNK_BYTES`` of per-replication output
    (scores, ranks, stages): a few hundred MiB at most.
    """
    total = setup.replications
    if chunk_size is None:
        inputs = setup.inputs
        per_rep = 8 * 4 * inputs.leaves.shape[2] + 8 * 4 * inputs.parent.size
        chunk_size = max(inputs.batch, CHUNK_BYTES // per_rep // inputs.batch * inputs.batch)
    starts = range(0, total, chunk_size)
    return [(s, min(s + chunk_size, total)) for s in starts]
