"""The compiled framework: a validated indicator tree as NumPy arrays for the engine.

``compile_framework`` checks the tree rules (unique codes, known parents, no cycles, weights
that sum to one within each parent) and returns a ``Framework`` the evaluation engine uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from cityloop.errors import FrameworkError, Location, Problem
from cityloop.frameworks.schema import (
    Dimension,
    Direction,
    FrameworkFile,
    Indicator,
    ValueType,
    WeightStatus,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

WEIGHT_TOLERANCE = 1e-6
DIRECTION_CODE = {Direction.HIGHER: 1, Direction.LOWER: -1, Direction.BAND: 0}


@dataclass(frozen=True, eq=False)
class Framework:
    """A validated framework: the file's content plus the tree as index arrays.

    Nodes are numbered dimensions first (file order), then indicators (file order).
    ``parent[i]`` is the parent's node index or -1 for a top-level node; ``weight[i]`` is the
    node's weight within its parent, normalised so that siblings sum to one.
    """

    spec: FrameworkFile
    codes: tuple[str, ...]
    parent: IntArray
    depth: IntArray
    weight: FloatArray
    n_dimensions: int
    source: str = "<memory>"
    departments: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def version(self) -> str:
        return self.spec.version

    @property
    def n_nodes(self) -> int:
        return len(self.codes)

    @cached_property
    def index(self) -> dict[str, int]:
        return {code: i for i, code in enumerate(self.codes)}

    @property
    def indicators(self) -> list[Indicator]:
        return self.spec.indicators

    @property
    def dimensions(self) -> list[Dimension]:
        return self.spec.dimensions

    @cached_property
    def indicator_codes(self) -> tuple[str, ...]:
        return self.codes[self.n_dimensions :]

    @cached_property
    def leaf_nodes(self) -> IntArray:
        """Node index of each indicator, in indicator order."""
        return np.arange(self.n_dimensions, self.n_nodes, dtype=np.int64)

    @cached_property
    def direction(self) -> IntArray:
        """+1 higher is better, -1 lower is better, 0 target band; one per indicator."""
        return np.array([DIRECTION_CODE[i.direction] for i in self.indicators], dtype=np.int64)

    @cached_property
    def band(self) -> FloatArray:
        """(n_indicators, 2) band limits; NaN where the indicator has no band."""
        return np.array(
            [i.band if i.band is not None else (np.nan, np.nan) for i in self.indicators],
            dtype=np.float64,
        ).reshape(-1, 2)

    @cached_property
    def target(self) -> FloatArray:
        return np.array(
            [np.nan if i.target is None else i.target for i in self.indicators], dtype=np.float64
        )

    @cached_property
    def worst(self) -> FloatArray:
        return np.array(
            [np.nan if i.worst is None else i.worst for i in self.indicators], dtype=np.float64
        )

    @cached_property
    def value_type(self) -> tuple[ValueType, ...]:
        return tuple(i.value_type for i in self.indicators)

    def children(self, node: int) -> IntArray:
        return np.flatnonzero(self.parent == node)

    @cached_property
    def top_nodes(self) -> IntArray:
        return np.flatnonzero(self.parent == -1)

    def name(self, code: str, lang: str | None = None) -> str:
        from cityloop.i18n import pick

        i = self.index[code]
        node = (
            self.dimensions[i] if i < self.n_dimensions else self.indicators[i - self.n_dimensions]
        )
        return pick(node.name.as_dict(), lang)

    def path_weight(self, weight: FloatArray | None = None) -> FloatArray:
        """Each node's share of the whole score: the product of weights up to the root.

        Exact for arithmetic aggregation; used to explain contributions.
        """
        w = self.weight if weight is None else weight
        out = w.copy()
        ancestor = self.parent.copy()
        # Walk up one level per pass for every node at once; depth bounds the passes.
        while np.any(ancestor >= 0):
            has = ancestor >= 0
            out[has] *= w[ancestor[has]]
            ancestor[has] = self.parent[ancestor[has]]
        return out

    def nodes_table(self, lang: str | None = None) -> list[dict[str, Any]]:
        """One row per node for display: code, name, parent, level, weight, share."""
        share = self.path_weight()
        rows: list[dict[str, Any]] = []
        for i, code in enumerate(self.codes):
            rows.append(
                {
                    "code": code,
                    "name": self.name(code, lang),
                    "parent": self.codes[self.parent[i]] if self.parent[i] >= 0 else "",
                    "level": int(self.depth[i]),
                    "is_indicator": i >= self.n_dimensions,
                    "weight": float(self.weight[i]),
                    "share": float(share[i]),
                }
            )
        return rows


def compile_framework(
    spec: FrameworkFile,
    *,
    source: str = "<memory>",
    departments: Mapping[str, Mapping[str, str]] | None = None,
    locate: Mapping[str, Location] | None = None,
) -> Framework:
    """Check the tree rules and build the arrays; raise ``FrameworkError`` listing every fault.

    ``locate`` maps a node code to where it was written, so problems point at the file row.
    """
    locate = locate or {}
    problems: list[Problem] = []

    def where(code: str, column: str | None = None) -> Location:
        base = locate.get(code, Location(file=source))
        return Location(base.file, base.sheet, base.row, column or base.column)

    nodes: list[Dimension | Indicator] = [*spec.dimensions, *spec.indicators]
    codes = [n.code for n in nodes]
    index: dict[str, int] = {}
    for i, code in enumerate(codes):
        if code in index:
            problems.append(Problem("fw.duplicate_code", {"code": code}, where(code, "code")))
        else:
            index[code] = i
    dimension_codes = {d.code for d in spec.dimensions}

    parent = np.full(len(nodes), -1, dtype=np.int64)
    for i, node in enumerate(nodes):
        if node.parent is None:
            continue
        if node.parent not in index:
            problems.append(
                Problem(
                    "fw.unknown_parent",
                    {"code": node.code, "parent": node.parent},
                    where(node.code, "parent"),
                )
            )
        elif node.parent not in dimension_codes:
            problems.append(
                Problem(
                    "fw.parent_is_indicator",
                    {"code": node.code, "parent": node.parent},
                    where(node.code, "parent"),
                )
            )
        else:
            parent[i] = index[node.parent]

    if departments is not None:
        for ind in spec.indicators:
            if ind.department not in departments:
                problems.append(
                    Problem(
                        "fw.unknown_department",
                        {
                            "code": ind.code,
                            "department": ind.department,
                            "known": ", ".join(sorted(departments)),
                        },
                        where(ind.code, "department"),
                    )
                )
    if problems:
        raise FrameworkError("fw.invalid", problems, file=source)

    depth = _depths(parent, codes, problems, where)
    has_child = np.zeros(len(nodes), dtype=bool)
    has_child[parent[parent >= 0]] = True
    for i, d in enumerate(spec.dimensions):
        if not has_child[i]:
            problems.append(Problem("fw.empty_dimension", {"code": d.code}, where(d.code)))
    weight = _sibling_weights(spec, nodes, parent, problems, where)
    if problems:
        raise FrameworkError("fw.invalid", problems, file=source)
    return Framework(
        spec=spec,
        codes=tuple(codes),
        parent=parent,
        depth=depth,
        weight=weight,
        n_dimensions=len(spec.dimensions),
        source=source,
        departments=dict(departments or {}),
    )


def _depths(parent: IntArray, codes: list[str], problems: list[Problem], where: Any) -> IntArray:
    depth = np.ones(len(parent), dtype=np.int64)
    ancestor = parent.copy()
    for _ in range(len(parent)):
        has = ancestor >= 0
        if not has.any():
            return depth
        depth[has] += 1
        ancestor[has] = parent[ancestor[has]]
    for i in np.flatnonzero(ancestor >= 0):
        problems.append(Problem("fw.cycle", {"code": codes[i]}, where(codes[i], "parent")))
    return depth


def _sibling_weights(
    spec: FrameworkFile,
    nodes: list[Dimension | Indicator],
    parent: IntArray,
    problems: list[Problem],
    where: Any,
) -> FloatArray:
    weight = np.zeros(len(nodes), dtype=np.float64)
    for p in np.unique(parent):
        siblings = np.flatnonzero(parent == p)
        given = [nodes[i].weight for i in siblings]
        parent_code = nodes[p].code if p >= 0 else "(root)"
        if all(w is None for w in given):
            weight[siblings] = 1.0 / len(siblings)
            continue
        missing = [nodes[i].code for i, w in zip(siblings, given, strict=True) if w is None]
        if missing:
            problems.append(
                Problem(
                    "fw.partial_weights",
                    {"parent": parent_code, "missing": ", ".join(missing)},
                    where(missing[0], "weight"),
                )
            )
            continue
        values = np.array(given, dtype=np.float64)
        total = float(values.sum())
        if total <= 0:
            problems.append(
                Problem(
                    "fw.zero_weights",
                    {"parent": parent_code},
                    where(nodes[siblings[0]].code, "weight"),
                )
            )
            continue
        if not spec.normalise_weights_within_parent and abs(total - 1.0) > WEIGHT_TOLERANCE:
            problems.append(
                Problem(
                    "fw.weights_not_one",
                    {"parent": parent_code, "total": round(total, 9)},
                    where(nodes[siblings[0]].code, "weight"),
                )
            )
            continue
        weight[siblings] = values / total
    return weight


def weights_by_status(fw: Framework) -> dict[WeightStatus, int]:
    """How many node weights are confirmed, derived, equal by default or unconfirmed."""
    counts = dict.fromkeys(WeightStatus, 0)
    for node in [*fw.dimensions, *fw.indicators]:
        counts[node.weight_status] += 1
    return counts
