"""The vectorised kernel of the uncertainty analysis: one chunk of replications at a time.

Replications are an array axis: a chunk's weights are a matrix ``(replication, node)`` and the
tree is aggregated level by level with batched matrix products, as ``aggregate.py`` does for one
weight vector. Pure and picklable, so Dask workers run exactly this code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special
from threadpoolctl import threadpool_limits

from cityloop.evaluation.aggregate import Aggregation
from cityloop.evaluation.stages import stage_of

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Monte Carlo draws come in fixed blocks, each from its own child of SeedSequence(seed): a chunk
# draws the blocks it overlaps, so results do not depend on chunk sizes or on worker counts.
DRAW_BLOCK = 1024


@dataclass(frozen=True)
class Level:
    """Parents at one depth and their children, padded so one batched product sums them."""

    depth: int
    first_slot: int  # the parents hold slots first_slot … first_slot + P − 1
    leaf_cols: IntArray  # (P, k) leaf columns of each parent's indicator children; pad = n_leaf
    leaf_nodes: IntArray  # (P, k) their node ids; pad = the root (weight 0)
    inner_slots: IntArray  # (m,) slots of children that are themselves parents
    inner_nodes: IntArray  # (m,) their node ids
    inner_parent: FloatArray  # (P, m) one-hot: which parent each inner child belongs to

    @property
    def n_parents(self) -> int:
        return int(self.leaf_cols.shape[0])


@dataclass(frozen=True)
class TreePlan:
    """The framework tree as per-level gather arrays.

    Parent nodes get score slots in the order they are computed (deepest level first, the
    root last), so each level writes one contiguous block of the score array in place.
    """

    n_nodes: int  # without the root; node ``n_nodes`` is the root
    n_leaf: int
    levels: tuple[Level, ...]  # deepest parents first

    @property
    def n_slots(self) -> int:
        return sum(level.n_parents for level in self.levels)

    @classmethod
    def from_tree(cls, parent: IntArray, depth: IntArray, n_dimensions: int) -> TreePlan:
        """Build the plan from a framework's ``parent`` (−1 = top) and ``depth`` arrays."""
        n = parent.shape[0]
        n_leaf = n - n_dimensions
        full_parent = np.where(parent < 0, n, parent)
        node_depth = np.append(depth, 0)
        slot_of = np.full(n + 1, -1, dtype=np.int64)
        levels = []
        next_slot = 0
        for d in range(int(depth.max()) - 1, -1, -1):
            kids = np.flatnonzero(node_depth[full_parent] == d)
            parents = np.unique(full_parent[kids])
            if parents.size == 0:
                continue
            slot_of[parents] = np.arange(next_slot, next_slot + parents.size)
            pos = np.searchsorted(parents, full_parent[kids])
            leaf = kids >= n_dimensions
            lk, lp = kids[leaf], pos[leaf]
            # Position of each indicator among its siblings: its index in a stable sort by parent
            # minus the index where its parent's run starts.
            order = np.argsort(lp, kind="stable")
            sibling = np.empty(lp.size, dtype=np.int64)
            sibling[order] = np.arange(lp.size) - np.searchsorted(lp[order], lp[order])
            k = int(sibling.max()) + 1 if lp.size else 0
            leaf_cols = np.full((parents.size, k), n_leaf, dtype=np.int64)
            leaf_nodes = np.full((parents.size, k), n, dtype=np.int64)
            leaf_cols[lp, sibling] = lk - n_dimensions
            leaf_nodes[lp, sibling] = lk
            inner = kids[~leaf]
            onehot = np.zeros((parents.size, inner.size))
            onehot[pos[~leaf], np.arange(inner.size)] = 1.0
            levels.append(
                Level(
                    depth=d,
                    first_slot=next_slot,
                    leaf_cols=leaf_cols,
                    leaf_nodes=leaf_nodes,
                    inner_slots=slot_of[inner],  # deeper levels already have their slots
                    inner_nodes=inner.astype(np.int64),
                    inner_parent=onehot,
                )
            )
            next_slot += parents.size
        return cls(n_nodes=n, n_leaf=n_leaf, levels=tuple(levels))


@dataclass(frozen=True)
class ChunkInputs:
    """Everything a chunk needs, built once and shared (scattered once to Dask workers)."""

    plan: TreePlan
    leaves: FloatArray  # (imputation option, normalisation option, unit, indicator)
    base_weight: FloatArray  # (imputation option, node + root): within-parent weights
    scale: FloatArray  # (normalisation option,): the framework scale, or 1 if unbounded
    bounded: BoolArray  # (normalisation option,): stages are defined
    aggregations: tuple[tuple[Aggregation, Mapping[int, Aggregation]], ...]  # default, by level
    geometric_floor: float
    thresholds: tuple[float, float, float]
    perturbation: str  # "none", "uniform" or "dirichlet"
    spread: float
    concentration: float
    weight_nodes: IntArray  # (V,) the node each weight variable perturbs
    weight_group: IntArray  # (node + root,) weight factor of each node, −1 if none
    n_weight_groups: int
    parent: IntArray  # (node + root,) parent node id, −1 for the root
    discrete: tuple[str, ...]  # names of the discrete factors, in design-column order
    n_options: IntArray  # (discrete factor,) number of options
    leave_out_nodes: IntArray  # option → node id left out; −1 = none
    seed: int
    design: FloatArray | None  # Saltelli points (replication, variable), None = Monte Carlo
    batch: int  # replications per kernel call: keeps its arrays at a few MiB

    @property
    def n_variables(self) -> int:
        return int(self.weight_nodes.size) + len(self.discrete)


@dataclass(frozen=True)
class ChunkOutput:
    scores: FloatArray  # (replication, unit)
    ranks: IntArray  # (replication, unit), 0 = not ranked (no score)
    stages: IntArray  # (replication, unit), −1 = undefined
    factors: FloatArray  # (replication, weight factor + discrete factor)


def uniform_draws(inputs: ChunkInputs, start: int, stop: int) -> FloatArray:
    """The [0, 1) draws of replications ``start:stop``: the design rows, or seeded blocks.

    Block ``b`` comes from ``SeedSequence(seed, spawn_key=(b,))``, which is exactly the b-th
    child of ``SeedSequence(seed).spawn(...)``, through a PCG64 generator.
    """
    if inputs.design is not None:
        return inputs.design[start:stop]
    first, last = start // DRAW_BLOCK, (stop - 1) // DRAW_BLOCK + 1
    # One generator per block of 1,024 replications: a loop over blocks, never replications.
    blocks = [
        np.random.Generator(
            np.random.PCG64(np.random.SeedSequence(inputs.seed, spawn_key=(b,)))
        ).random((DRAW_BLOCK, inputs.n_variables))
        for b in range(first, last)
    ]
    offset = first * DRAW_BLOCK
    return np.concatenate(blocks)[start - offset : stop - offset]


def perturb_weights(
    base: FloatArray,
    u: FloatArray,
    nodes: IntArray,
    parent: IntArray,
    *,
    perturbation: str,
    spread: float,
    concentration: float,
) -> FloatArray:
    """Perturb the within-parent weights ``base`` (replication, node) at ``nodes``.

    ``uniform``: each weight × (1 − x + 2x·u), so × U(1 − x, 1 + x), then siblings re-scaled
    to sum to one; ``dirichlet``: siblings ~ Dir(c · w) by the gamma construction (each
    Gamma(c · w) from its inverse CDF at ``u``, divided by the siblings' sum), so the mean is
    ``w`` and the spread shrinks as ``c`` grows. ``nodes`` must hold every sibling of each
    perturbed node. No perturbation (or spread 0) returns ``base`` unchanged, bit for bit.
    """
    if perturbation == "none" or nodes.size == 0 or (perturbation == "uniform" and spread == 0):
        return base.copy()
    w = base.copy()
    if perturbation == "uniform":
        w[:, nodes] = base[:, nodes] * (1.0 - spread + 2.0 * spread * u)
    else:
        shape_a = concentration * base[:, nodes]
        positive = shape_a > 0
        w[:, nodes] = np.where(
            positive, special.gammaincinv(np.where(positive, shape_a, 1.0), u), 0
        )
    sums = segment_sums(w[:, nodes], parent[nodes])
    with np.errstate(invalid="ignore", divide="ignore"):
        w[:, nodes] = np.where(sums > 0, w[:, nodes] / sums, base[:, nodes])
    return w


def segment_sums(values: FloatArray, segment: IntArray) -> FloatArray:
    """For each column, the row-wise sum of all columns in its segment.

    One ``reduceat`` over the columns sorted by segment: each row is summed in the same order
    whatever the number of rows, so results do not depend on how replications are chunked
    (a matrix product may switch kernels with its shape and round differently).
    """
    order = np.argsort(segment, kind="stable")
    ordered = segment[order]
    starts = np.flatnonzero(np.append(True, ordered[1:] != ordered[:-1]))
    sums = np.add.reduceat(values[:, order], starts, axis=1)
    which = np.cumsum(np.isin(np.arange(order.size), starts)) - 1
    out = np.empty_like(values)
    out[:, order] = sums[:, which]
    return out


@dataclass(frozen=True)
class LeafGather:
    """One option's indicator values laid out for each level's batched product, built once.

    ``values[level]`` is (parent, unit, sibling): values (or floored logs for a geometric
    level) with 0 for missing and padding; ``present[level]`` the same as 1/0, or None when
    every unit has every indicator (the denominator is then just the sum of the weights).
    """

    n_units: int
    values: tuple[FloatArray | None, ...]
    present: tuple[FloatArray | None, ...]

    @classmethod
    def build(
        cls,
        leaf: FloatArray,
        plan: TreePlan,
        methods: Mapping[int, Aggregation],
        default: Aggregation,
        geometric_floor: float,
    ) -> LeafGather:
        n_units = leaf.shape[0]
        present_leaf = ~np.isnan(leaf)
        complete = bool(present_leaf.all())
        pad = np.zeros((n_units, 1))
        logs = np.log(np.maximum(np.nan_to_num(leaf, nan=1.0), geometric_floor))
        arith = np.concatenate([np.where(present_leaf, leaf, 0.0), pad], axis=1)
        geo = np.concatenate([np.where(present_leaf, logs, 0.0), pad], axis=1)
        present = np.concatenate([present_leaf, pad], axis=1)
        values: list[FloatArray | None] = []
        presence: list[FloatArray | None] = []
        for level in plan.levels:  # a loop over tree levels
            if not level.leaf_cols.shape[1]:
                values.append(None)
                presence.append(None)
                continue
            geometric = methods.get(level.depth, default) == Aggregation.GEOMETRIC
            source = geo if geometric else arith
            values.append(np.ascontiguousarray(source[:, level.leaf_cols].transpose(1, 0, 2)))
            presence.append(
                None
                if complete
                else np.ascontiguousarray(present[:, level.leaf_cols].transpose(1, 0, 2))
            )
        return cls(n_units, tuple(values), tuple(presence))


def aggregate_batch(
    leaf: LeafGather,
    weight: FloatArray,
    plan: TreePlan,
    methods: Mapping[int, Aggregation],
    default: Aggregation,
    geometric_floor: float,
) -> FloatArray:
    """Overall index (replication, unit) of the gathered ``leaf`` values under each weight row.

    The arithmetic of ``aggregate.aggregate_tree`` with the replication as a batch axis:
    missing children are left out and the present siblings re-weighted (a parent whose
    present children weigh 0 gets 0/0 = NaN, i.e. missing); a geometric level sums logs
    floored at ``geometric_floor``. Indicator children enter as one batched matrix product
    per level (padded to the largest sibling group), sub-dimensions as a one-hot product.
    Scores are held as ``s[slot, unit, replication]`` and written in place.
    """
    n_units = leaf.n_units
    reps = weight.shape[0]
    s = np.empty((plan.n_slots, n_units, reps))
    for li, level in enumerate(plan.levels):
        geometric = methods.get(level.depth, default) == Aggregation.GEOMETRIC
        n_parents = level.n_parents
        out = s[level.first_slot : level.first_slot + n_parents]
        out[...] = 0.0
        values, present = leaf.values[li], leaf.present[li]
        den = np.zeros((n_parents, 1 if present is None else n_units, reps))
        if values is not None:
            # (parent, unit, sibling) @ (parent, sibling, rep): one batched product per level.
            wg = np.ascontiguousarray(weight[:, level.leaf_nodes].transpose(1, 2, 0))
            np.matmul(values, wg, out=out)
            if present is None:  # every unit has every indicator: the denominator is Σ w
                den += wg.sum(axis=1)[:, None, :]
            else:
                den += np.matmul(present, wg)
        if level.inner_slots.size:
            inner = s[level.inner_slots]
            present_inner = ~np.isnan(inner)
            if geometric:
                np.maximum(np.nan_to_num(inner, nan=1.0, copy=False), geometric_floor, out=inner)
                np.log(inner, out=inner)
            inner[~present_inner] = 0.0
            w_inner = weight[:, level.inner_nodes].T[:, None, :]
            inner *= w_inner
            m = level.inner_slots.size
            out += (level.inner_parent @ inner.reshape(m, -1)).reshape(out.shape)
            weights_present = (present_inner * w_inner).reshape(m, -1)
            # Not in place: a (parent, 1, rep) denominator broadcasts to every unit here.
            den = den + (level.inner_parent @ weights_present).reshape(out.shape)
        with np.errstate(invalid="ignore", divide="ignore"):
            np.divide(out, den, out=out)
            if geometric:
                np.exp(out, out=out)
    return np.ascontiguousarray(s[-1].T)


def competition_ranks(scores: FloatArray) -> IntArray:
    """Rank 1 = best in each row, ties share the better rank ('min'); NaN scores get 0.

    The same ranking as ``scipy.stats.rankdata(-x, method="min", nan_policy="omit")`` per row,
    done for all rows at once with one sort.
    """
    reps, n = scores.shape
    order = np.argsort(-scores, axis=1)  # tied scores share a rank whatever their order
    ordered = np.take_along_axis(scores, order, axis=1)
    starts = np.ones((reps, n), dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    position = np.where(starts, np.arange(1, n + 1), 0)
    np.maximum.accumulate(position, axis=1, out=position)
    ranks = np.empty((reps, n), dtype=np.int64)
    np.put_along_axis(ranks, order, position, axis=1)
    ranks[np.isnan(scores)] = 0
    return ranks


def run_chunk(inputs: ChunkInputs, start: int, stop: int) -> ChunkOutput:
    """Replications ``start:stop``: draws → choices and weights → scores, ranks, stages.

    BLAS runs single-threaded here: the kernel's products are small, and OpenBLAS's thread
    hand-offs cost more than they save on them (10× slower on a 2-core VM). Parallelism
    comes from chunks on Dask workers instead.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _run_chunk(inputs, start, stop)


def _run_chunk(inputs: ChunkInputs, start: int, stop: int) -> ChunkOutput:
    u = uniform_draws(inputs, start, stop)
    reps = stop - start
    n_w = inputs.weight_nodes.size
    choice = np.minimum((u[:, n_w:] * inputs.n_options).astype(np.int64), inputs.n_options - 1)
    picked = dict(zip(inputs.discrete, choice.T, strict=True))
    zero = np.zeros(reps, dtype=np.int64)
    imp = picked.get("imputation", zero)
    norm = picked.get("normalisation", zero)
    agg = picked.get("aggregation", zero)
    base = inputs.base_weight[imp]
    weight = perturb_weights(
        base,
        u[:, :n_w],
        inputs.weight_nodes,
        inputs.parent,
        perturbation=inputs.perturbation,
        spread=inputs.spread,
        concentration=inputs.concentration,
    )
    weight_change = np.zeros((reps, inputs.n_weight_groups))
    if n_w:
        group = inputs.weight_group[inputs.weight_nodes]
        change = segment_sums(np.abs(weight - base)[:, inputs.weight_nodes], group)
        weight_change[:, group] = change  # every member of a group holds the group's sum
    if "leave_out" in picked:
        left = inputs.leave_out_nodes[picked["leave_out"]]
        rows = np.flatnonzero(left >= 0)
        weight[rows, left[rows]] = 0.0

    n_norm, n_agg = inputs.leaves.shape[1], len(inputs.aggregations)
    combo = (imp * n_norm + norm) * n_agg + agg
    scores = np.empty((reps, inputs.leaves.shape[2]))
    # A loop over the handful of (imputation, normalisation, aggregation) combinations drawn,
    # and over batches sized so the kernel's arrays are reused from the heap (see ``batch``).
    for c in np.unique(combo):
        rows = np.flatnonzero(combo == c)
        i, rest = divmod(int(c), n_norm * n_agg)
        n, a = divmod(rest, n_agg)
        default, by_level = inputs.aggregations[a]
        gathered = LeafGather.build(
            inputs.leaves[i, n], inputs.plan, by_level, default, inputs.geometric_floor
        )
        for lo in range(0, rows.size, inputs.batch):
            batch = rows[lo : lo + inputs.batch]
            # Every kernel call has the same shape (zero-weight rows pad the last batch), so
            # the matrix products take the same code path and a replication's score does not
            # depend on which chunk or batch it falls in.
            padded = np.zeros((inputs.batch, weight.shape[1]))
            padded[: batch.size] = weight[batch]
            scores[batch] = aggregate_batch(
                gathered,
                padded,
                inputs.plan,
                by_level,
                default,
                inputs.geometric_floor,
            )[: batch.size]
    scores *= inputs.scale[norm][:, None]
    stages = np.where(
        inputs.bounded[norm][:, None], stage_of(scores, inputs.thresholds), -1
    ).astype(np.int64)
    factors = np.concatenate([weight_change, choice.astype(np.float64)], axis=1)
    return ChunkOutput(scores, competition_ranks(scores), stages, factors)
