"""The evaluation engine: pure NumPy scoring, ranking and robustness of indicator frameworks.

Submodules hold the steps; the robustness analysis is re-exported here as ``uncertainty``.
"""

from cityloop.evaluation.uncertainty import (
    LeaveOut,
    UncertaintyResult,
    UncertaintySpec,
    WeightPerturbation,
    uncertainty,
)

__all__ = ["LeaveOut", "UncertaintyResult", "UncertaintySpec", "WeightPerturbation", "uncertainty"]
