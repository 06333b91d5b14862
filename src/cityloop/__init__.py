"""CityLoop: the closed loop of new-type smart city construction.

The public Python API is re-exported here; ``tests/test_public_api.py`` guards these names.
"""

from cityloop._version import __version__
from cityloop.errors import (
    CityLoopError,
    ConfigError,
    DataValidationError,
    FrameworkError,
    InputError,
    MethodError,
)
from cityloop.evaluation.config import EvaluationConfig
from cityloop.evaluation.result import EvaluationResult
from cityloop.evaluation.uncertainty import UncertaintyResult, UncertaintySpec, uncertainty
from cityloop.frameworks import Framework, load_framework
from cityloop.services.evaluation import evaluate, write_results

__all__ = [
    "CityLoopError",
    "ConfigError",
    "DataValidationError",
    "EvaluationConfig",
    "EvaluationResult",
    "Framework",
    "FrameworkError",
    "InputError",
    "MethodError",
    "UncertaintyResult",
    "UncertaintySpec",
    "__version__",
    "evaluate",
    "load_framework",
    "uncertainty",
    "write_results",
]
