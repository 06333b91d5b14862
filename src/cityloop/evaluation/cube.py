"""The dense values cube ``values[unit, year, indicator]`` built from a long table.

Building it is one factorise-and-scatter over the rows; its hash identifies the data snapshot.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
import pandas as pd

from cityloop.frameworks.tree import Framework

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class ValuesCube:
    """Indicator values as a dense array with NaN for missing, and its axis labels."""

    units: tuple[str, ...]
    years: tuple[int, ...]
    indicators: tuple[str, ...]
    values: FloatArray  # (units, years, indicators)

    @cached_property
    def data_hash(self) -> str:
        """SHA-256 of the labels and the exact bytes of the values: the data snapshot id."""
        h = hashlib.sha256()
        for label in (self.units, tuple(map(str, self.years)), self.indicators):
            h.update("\x1f".join(label).encode("utf-8"))
            h.update(b"\x1e")
        h.update(np.ascontiguousarray(self.values, dtype="<f8").tobytes())
        return h.hexdigest()


def build_cube(
    frame: pd.DataFrame,
    framework: Framework,
    *,
    units: Sequence[str] | None = None,
    years: Sequence[int] | None = None,
) -> ValuesCube:
    """Scatter a long table (unit, year, indicator, value) into a cube.

    Indicators follow the framework's order; units and years are sorted unless given.
    Rows for indicators outside the framework, or units/years not asked for, are ignored;
    the importer has already refused unknown codes and duplicates.
    """
    unit_labels = (
        tuple(sorted(frame["unit"].astype(str).unique())) if units is None else tuple(units)
    )
    year_labels = (
        tuple(sorted(int(y) for y in frame["year"].unique())) if years is None else tuple(years)
    )
    indicators = framework.indicator_codes
    ui = pd.Index(unit_labels).get_indexer(pd.Index(frame["unit"].astype(str)))
    yi = pd.Index(year_labels).get_indexer(pd.Index(frame["year"].astype(np.int64)))
    ii = pd.Index(indicators).get_indexer(pd.Index(frame["indicator"].astype(str)))
    keep = (ui >= 0) & (yi >= 0) & (ii >= 0)
    values = np.full((len(unit_labels), len(year_labels), len(indicators)), np.nan)
    values[ui[keep], yi[keep], ii[keep]] = frame["value"].to_numpy(dtype=np.float64)[keep]
    return ValuesCube(unit_labels, year_labels, indicators, values)
