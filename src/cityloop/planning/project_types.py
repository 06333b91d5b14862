"""The smart-city project catalogue's record types: a typical project with its cost, staff,
prerequisites, plan types, the needs it answers and its expected effect on indicators."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PlanType(StrEnum):
    """The emphasis of a smart-city plan (创新型、产业型、民生型、信息基础设施型)."""

    INNOVATION = "innovation"
    INDUSTRY = "industry"
    LIVELIHOOD = "livelihood"
    INFRASTRUCTURE = "infrastructure"


@dataclass(frozen=True)
class EffectRange:
    """The improvement a project is expected to bring to one framework indicator.

    ``low``, ``likely`` and ``high`` are improvements on the indicator's own scale (its unit,
    e.g. percentage points or score points), counted towards its target whatever its direction:
    0 ≤ low ≤ likely ≤ high. They take effect in the year after the project is finished.
    """

    framework: str
    indicator: str
    low: float
    likely: float
    high: float


@dataclass(frozen=True)
class CatalogueProject:
    """A typical smart-city construction project as the catalogue (or a city) describes it.

    ``cost`` (10k yuan, 万元) and ``staff`` (full-time equivalents) are given for each year of
    the project's own construction, so ``len(cost)`` is its construction cycle in years.
    ``applications`` are the codes of the applications (needs) it answers, from
    ``cityloop/survey/applications.yaml``. ``foundation`` and ``importance`` are scores from 1
    to 5 (the catalogue's defaults; a city overrides them with its own judgment).
    """

    code: str
    name_zh: str
    name_en: str
    domain: str
    description_zh: str
    description_en: str
    cost: tuple[float, ...]
    staff: tuple[float, ...]
    prerequisites: tuple[str, ...]
    plan_types: tuple[PlanType, ...]
    applications: tuple[str, ...]
    effects: tuple[EffectRange, ...]
    foundation: float
    importance: float

    @property
    def cycle(self) -> int:
        """Construction cycle in years."""
        return len(self.cost)

    @property
    def total_cost(self) -> float:
        """Cost over the whole construction, 10k yuan."""
        return float(sum(self.cost))
