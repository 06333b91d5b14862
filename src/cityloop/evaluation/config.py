"""The evaluation configuration: every methodological choice of a run, validated.

Written by users as YAML (``--config cfg.yaml``) or built in Python; stored with each result.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cityloop.evaluation.aggregate import Aggregation
from cityloop.evaluation.missing import Imputation
from cityloop.evaluation.normalise import Normalisation
from cityloop.evaluation.outliers import OutlierMethod

# Stage names in order (GB/T 33356 practice describes the path 数字化 → 网络化 → 智能化 → 智慧化).
STAGES = ("digital", "networked", "intelligent", "smart")


class WeightMethod(StrEnum):
    FRAMEWORK = "framework"
    EQUAL = "equal"
    ENTROPY = "entropy"
    CRITIC = "critic"
    PCA = "pca"


class Scope(StrEnum):
    POOLED = "pooled"  # one scale for all years: scores comparable across years
    PER_YEAR = "per_year"  # each year its own scale: a cross-section per year


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OutlierConfig(_Strict):
    method: OutlierMethod = OutlierMethod.NONE
    max_skew: float = Field(2.0, gt=0)
    max_kurtosis: float = Field(3.5, gt=0)
    max_winsorised: int = Field(5, ge=1, le=100)


class NormalisationConfig(_Strict):
    method: Normalisation = Normalisation.MIN_MAX
    scope: Scope = Scope.POOLED


class AHPJudgments(_Strict):
    """Pairwise judgments for the children of one node, from one or more experts."""

    children: list[str] = Field(min_length=2)
    matrices: list[list[list[float]]] = Field(min_length=1)
    force: bool = False


class WeightConfig(_Strict):
    method: WeightMethod = WeightMethod.FRAMEWORK  # indicators within their parent
    upper: WeightMethod = WeightMethod.FRAMEWORK  # dimensions (framework or equal)
    ahp: dict[str, AHPJudgments] = Field(default_factory=dict)  # node code → judgments
    max_cr: float = Field(0.1, gt=0, le=1)

    @field_validator("upper")
    @classmethod
    def _upper_simple(cls, value: WeightMethod) -> WeightMethod:
        if value not in {WeightMethod.FRAMEWORK, WeightMethod.EQUAL}:
            raise ValueError("upper must be 'framework' or 'equal'")
        return value


class AggregationConfig(_Strict):
    default: Aggregation = Aggregation.ARITHMETIC
    by_level: dict[int, Aggregation] = Field(default_factory=dict)  # 0 = the overall index
    geometric_floor: float = Field(0.01, gt=0, lt=1)


class StageConfig(_Strict):
    """Score boundaries (on the framework scale) between the four stages.

    CityLoop's default, not a figure of the standard: GB/T 33356 names no thresholds.
    """

    thresholds: tuple[float, float, float] = (40.0, 60.0, 80.0)

    @field_validator("thresholds")
    @classmethod
    def _ascending(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        if not value[0] < value[1] < value[2]:
            raise ValueError("thresholds must be strictly increasing")
        return value


class EvaluationConfig(_Strict):
    """All choices of one evaluation run. Defaults follow the OECD/JRC Handbook's baseline."""

    years: list[int] | None = None
    level: str | None = "city"  # which unit level is evaluated when units are known
    min_coverage: float = Field(0.5, ge=0, le=1)
    imputation: list[Imputation] = Field(default_factory=lambda: [Imputation.NONE])
    impute_group: str = "province"
    outliers: OutlierConfig = OutlierConfig()
    normalisation: NormalisationConfig = NormalisationConfig()
    weights: WeightConfig = WeightConfig()
    aggregation: AggregationConfig = AggregationConfig()
    stages: StageConfig = StageConfig()
    group_kinds: list[str] = Field(default_factory=lambda: ["province", "cluster"])
    peer_group: str | None = None  # peers for strengths/weaknesses; None = all units
    targets: dict[str, float] = Field(default_factory=dict)  # goalpost overrides by code

    @model_validator(mode="after")
    def _imputation_needs_group(self) -> EvaluationConfig:
        if not self.imputation:
            raise ValueError("imputation needs at least one method (use [none])")
        return self

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
