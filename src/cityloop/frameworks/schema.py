"""The schema every indicator framework file obeys, as pydantic models.

A framework is a tree: dimensions (internal nodes) and indicators (leaves, the scoring items).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)


class Direction(StrEnum):
    """Which values are better: higher, lower, or inside a target band."""

    HIGHER = "higher"
    LOWER = "lower"
    BAND = "band"


class SourceKind(StrEnum):
    """Where an indicator's value comes from."""

    STATISTICS = "statistics"
    DEPARTMENT_REPORT = "department_report"
    SURVEY = "survey"
    SENSOR = "sensor"
    ONLINE_CHECK = "online_check"


class ValueType(StrEnum):
    """What kind of number the value is; drives range checks on import."""

    PERCENTAGE = "percentage"  # 0–100
    SHARE = "share"  # 0–1
    COUNT = "count"  # non-negative integer-like
    AMOUNT = "amount"  # non-negative quantity (money, energy, length…)
    RATE = "rate"  # non-negative ratio per population/area/time
    INDEX = "index"  # any real number
    SCORE = "score"  # bounded score, e.g. 0–100 or survey 1–5
    BOOLEAN = "boolean"  # 0 or 1 (a yes/no scoring item)


class WeightStatus(StrEnum):
    """How far a weight is backed by the standard's text."""

    CONFIRMED = "confirmed"  # printed in the cited clause
    DERIVED = "derived"  # follows from printed figures (e.g. a remainder)
    EQUAL_BY_DEFAULT = "equal_by_default"  # the standard leaves it to the evaluator
    UNCONFIRMED = "unconfirmed"  # plausible, not yet checked against the primary text


class Names(BaseModel):
    """A name or text in Chinese and English; Chinese is required."""

    model_config = ConfigDict(extra="forbid")
    zh: str = Field(min_length=1)
    en: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"zh": self.zh, "en": self.en}


class NodeBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    name: Names
    parent: str | None = None
    weight: float | None = Field(default=None, ge=0)
    weight_status: WeightStatus = WeightStatus.EQUAL_BY_DEFAULT
    weight_source: str = ""
    definition: Names | None = None

    @model_validator(mode="after")
    def _weight_has_source(self) -> NodeBase:
        stated = self.weight is not None and self.weight_status != WeightStatus.EQUAL_BY_DEFAULT
        if stated and not self.weight_source.strip():
            raise ValueError("a weight needs weight_source (the clause it comes from)")
        return self


class Dimension(NodeBase):
    """An internal node of the tree (first-level dimension, second-level indicator, …)."""


class Derived(BaseModel):
    """A derived indicator's formula over sensor series and hub metrics (data hub).

    The grammar is ``cityloop.datahub.formulas``; the loader parses the formula and the zone.
    """

    model_config = ConfigDict(extra="forbid")
    formula: str = Field(min_length=1, max_length=500)
    timezone: str = Field(default="Asia/Shanghai", min_length=1)
    note: Names | None = None


class Indicator(NodeBase):
    """A leaf: one measured quantity (a scoring item) with everything needed to score it."""

    unit: str = Field(min_length=1)
    value_type: ValueType
    direction: Direction
    band: tuple[float, float] | None = None
    target: float | None = None
    worst: float | None = None
    source_kind: SourceKind
    department: str = Field(min_length=1)
    core: bool = True
    derived: Derived | None = None

    @model_serializer(mode="wrap")
    def _omit_absent_derived(self, handler: SerializerFunctionWrapHandler) -> Any:
        # Without a formula the dump is what it was before formulas existed, so the content
        # hash of every stored framework version stays the same.
        data = handler(self)
        if self.derived is None and isinstance(data, dict):
            data.pop("derived", None)
        return data

    @field_validator("band")
    @classmethod
    def _band_ordered(cls, band: tuple[float, float] | None) -> tuple[float, float] | None:
        if band is not None and band[0] > band[1]:
            raise ValueError("band must be [low, high] with low <= high")
        return band

    @model_validator(mode="after")
    def _band_when_needed(self) -> Indicator:
        if self.direction == Direction.BAND and self.band is None:
            raise ValueError("direction 'band' needs band: [low, high]")
        if self.direction != Direction.BAND and self.band is not None:
            raise ValueError("band is only allowed with direction 'band'")
        return self


class Standard(BaseModel):
    """The published document a framework encodes."""

    model_config = ConfigDict(extra="forbid")
    code: str
    title: Names
    publisher: str = ""
    year: int | None = None


class FrameworkFile(BaseModel):
    """The whole framework file, as written by a person (YAML or Excel)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9_.\-]*$")
    version: str = Field(min_length=1)
    title: Names
    standard: Standard | None = None
    scale: float = Field(default=100.0, gt=0)
    normalise_weights_within_parent: bool = False
    notes: Names | None = None
    dimensions: list[Dimension] = Field(default_factory=list)
    indicators: list[Indicator] = Field(min_length=1)
