"""Group memberships of the evaluated units (province, cluster, size class) as index arrays.

A unit may belong to several groups of one kind (a city in two clusters), so a kind is a list
of (unit index, group index) pairs rather than one label per unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class GroupKind:
    """Pairs (unit, group) of one kind of group, and the group codes."""

    unit: IntArray
    group: IntArray
    codes: tuple[str, ...]

    def first_group(self, n_units: int) -> IntArray:
        """One group id per unit (the first listed), -1 where the unit has none."""
        out = np.full(n_units, -1, dtype=np.int64)
        # Reverse so the first listed membership is written last and wins.
        out[self.unit[::-1]] = self.group[::-1]
        return out


def groups_from_memberships(
    memberships: pd.DataFrame | None, units: Sequence[str]
) -> dict[str, GroupKind]:
    """Index the (unit, group, kind) table against the evaluated units' order."""
    if memberships is None or memberships.empty:
        return {}
    idx = pd.Index(list(units)).get_indexer(pd.Index(memberships["unit"].astype(str)))
    table = memberships.assign(_u=idx)
    table = table[table["_u"] >= 0]
    out: dict[str, GroupKind] = {}
    for kind, sub in table.groupby("kind", sort=True):
        codes, group_idx = np.unique(sub["group"].astype(str).to_numpy(), return_inverse=True)
        out[str(kind)] = GroupKind(
            unit=sub["_u"].to_numpy(dtype=np.int64),
            group=group_idx.astype(np.int64),
            codes=tuple(str(c) for c in codes),
        )
    return out
