"""Variance-based sensitivity (Sobol indices) through SALib: the Saltelli design and analysis.

Pure and generic: the design is a matrix of uniform [0, 1) draws, one column per variable,
variables gathered into named factors; the uncertainty analysis and the tests use these two
functions alike, so the Ishigami check exercises exactly the code that ranks the assumptions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from SALib.analyze import sobol as sobol_analysis
from SALib.sample import sobol as sobol_sampling

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SobolDesign:
    """A Saltelli design: ``rows = base · (2 · factors + 2)`` points in the unit hypercube."""

    problem: dict[str, Any]
    base: int  # N, a power of two
    points: FloatArray  # (rows, variables) in [0, 1)

    @property
    def factors(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.problem["groups"]))


def design_rows(n_factors: int, base: int) -> int:
    """Model runs of a Saltelli design with second-order terms: N · (2D + 2)."""
    return base * (2 * n_factors + 2)


def base_for(replications: int, n_factors: int) -> int:
    """The largest power of two N with N · (2D + 2) ≤ ``replications`` (at least 1)."""
    per_base = 2 * n_factors + 2
    return int(2 ** max(0, int(np.floor(np.log2(max(replications // per_base, 1))))))


def sobol_design(
    variables: Sequence[str], factors: Sequence[str], replications: int, seed: int
) -> SobolDesign:
    """Saltelli's (2010) extension of Sobol' sequences, scrambled and seeded (SALib).

    ``factors[i]`` names the factor variable ``i`` belongs to: indices are computed per
    factor (SALib's groups), so a whole weight vector can be one factor.
    """
    problem: dict[str, Any] = {
        "num_vars": len(variables),
        "names": list(variables),
        "bounds": [[0.0, 1.0]] * len(variables),
        "groups": list(factors),
    }
    n_factors = len(dict.fromkeys(factors))
    base = base_for(replications, n_factors)
    points = sobol_sampling.sample(problem, base, calc_second_order=True, seed=seed)
    # Scrambled Sobol' points can touch 1.0 in floating point; option indices need [0, 1).
    points = np.minimum(np.asarray(points, dtype=np.float64), np.nextafter(1.0, 0.0))
    return SobolDesign(problem, base, points)


def sobol_indices(design: SobolDesign, outputs: FloatArray, seed: int) -> pd.DataFrame:
    """First-order (S1) and total-effect (ST) indices per factor with 95 % bootstrap intervals.

    Jansen's estimator for ST and Saltelli et al. (2010) for S1, as SALib implements them.
    Returns one row per factor: ``factor, S1, S1_conf, ST, ST_conf``.
    """
    y = np.asarray(outputs, dtype=np.float64)
    if np.ptp(y) == 0:  # no output variance: every index is zero, not 0/0
        zeros = np.zeros(len(design.factors))
        indices = {"S1": zeros, "S1_conf": zeros, "ST": zeros, "ST_conf": zeros}
    else:
        result = sobol_analysis.analyze(
            design.problem, y, calc_second_order=True, seed=seed, print_to_console=False
        )
        indices = {key: np.asarray(result[key], dtype=np.float64) for key in ("S1", "S1_conf")}
        indices |= {key: np.asarray(result[key], dtype=np.float64) for key in ("ST", "ST_conf")}
    return pd.DataFrame({"factor": list(design.factors), **indices})
