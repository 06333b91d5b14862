"""Development stages (数字化 → 网络化 → 智能化 → 智慧化) from scores and thresholds.

A score below the first threshold is stage 0 (数字化); at or above the last, stage 3 (智慧化).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def stage_of(scores: FloatArray, thresholds: tuple[float, ...]) -> IntArray:
    """Stage index for each score; -1 where the score is missing."""
    stage = np.searchsorted(np.asarray(thresholds, dtype=np.float64), scores, side="right")
    return np.where(np.isnan(scores), -1, stage).astype(np.int64)
