"""What a plan is solved with: framework, years, phases, limits, forced choices, shares, factor
weights and the effect case — validated once here for the web form, the JSON API and the CLI.

Saved plans keep these settings as JSON, so a plan can be solved again exactly as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cityloop.errors import InputError, Location, schema_problems
from cityloop.planning.plan_gains import DEFAULT_NEED_WEIGHT, Case
from cityloop.planning.project_types import PlanType
from cityloop.planning.scoring import FACTORS
from cityloop.services.evaluation import DEFAULT_FRAMEWORK
from cityloop.services.form_text import split_codes, split_numbers

DEFAULT_PHASE_YEARS = (2, 2, 1)  # 启动实施 2 years, 持续推进 2 years, 应用拓展 1 year
DEFAULT_BUDGET = 6000.0  # 万元 per year
DEFAULT_STAFF = 40.0  # full-time equivalents per year
EQUAL_FACTOR_WEIGHTS = dict.fromkeys(FACTORS, 1.0 / len(FACTORS))


class PlanSettings(BaseModel):
    """The settings of one solve. ``budget`` and ``staff`` hold one value per calendar year of
    the plan, or a single value meaning every year; ``phase_budget`` / ``phase_staff`` (one
    value per phase) add limits on each phase's total. ``first_year`` None means the year
    after the evaluation. ``built`` are catalogue projects the city already has (its existing
    foundation): they are not candidates and count as finished for the projects that need
    them. ``min_share`` maps a plan type to the least share of the chosen
    value (or number of projects, ``share_of="projects"``) its projects must carry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    framework: str = DEFAULT_FRAMEWORK
    first_year: int | None = Field(default=None, ge=2000, le=2100)
    phase_years: tuple[int, ...] = Field(default=DEFAULT_PHASE_YEARS, min_length=1, max_length=6)
    budget: tuple[float, ...] = Field(default=(DEFAULT_BUDGET,), min_length=1)
    staff: tuple[float, ...] = Field(default=(DEFAULT_STAFF,), min_length=1)
    phase_budget: tuple[float, ...] | None = None
    phase_staff: tuple[float, ...] | None = None
    mandatory: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    built: tuple[str, ...] = ()  # the city has them already: they count as finished
    min_share: dict[PlanType, float] = Field(default_factory=dict)
    share_of: Literal["value", "projects"] = "value"
    factor_weights: dict[str, float] = Field(default_factory=lambda: dict(EQUAL_FACTOR_WEIGHTS))
    judgments: tuple[tuple[float, ...], ...] | None = None
    case: Case = "likely"
    need_weight: float = Field(default=DEFAULT_NEED_WEIGHT, ge=0, le=1000)
    time_limit: float = Field(default=20.0, gt=0, le=600)

    @property
    def horizon(self) -> int:
        return sum(self.phase_years)

    def yearly(self, values: tuple[float, ...], field: str) -> list[float]:
        """``values`` spread over the horizon (one value: every year); refused if the count
        is neither one nor the number of years."""
        if len(values) == 1:
            return [values[0]] * self.horizon
        if len(values) != self.horizon:
            raise InputError(
                "planweb.settings.year_count", field=field, years=self.horizon, got=len(values)
            )
        return list(values)

    def per_phase(self, values: tuple[float, ...] | None, field: str) -> list[float] | None:
        """One value per phase, or None; refused if the count differs from the phases'."""
        if values is None:
            return None
        if len(values) != len(self.phase_years):
            raise InputError(
                "planweb.settings.phase_count",
                field=field,
                phases=len(self.phase_years),
                got=len(values),
            )
        return list(values)


def plan_settings(mapping: Mapping[str, Any] | PlanSettings | None) -> PlanSettings:
    """Settings from a mapping (JSON, a form, the CLI); every fault named by its field."""
    if mapping is None:
        return PlanSettings()
    if isinstance(mapping, PlanSettings):
        return mapping
    try:
        return PlanSettings.model_validate(dict(mapping))
    except ValidationError as exc:
        problems = schema_problems(exc, lambda loc: Location(column=".".join(map(str, loc))))
        raise InputError("planweb.settings.invalid", problems) from None


def numbers(text: str, field: str) -> tuple[float, ...]:
    """Numbers typed as ``3000`` or ``3000, 3500, 4000`` (Chinese commas too)."""
    try:
        return split_numbers(text)
    except ValueError:
        raise InputError("planweb.settings.not_numbers", field=field, value=text) from None


def judgments(text: str) -> tuple[tuple[float, ...], ...]:
    """An AHP pairwise-comparison matrix typed one row per line (or rows separated by ``;``),
    entries separated by commas or spaces, as numbers or Saaty fractions such as ``1/3``."""
    rows = [r for r in text.replace("；", ";").replace("\n", ";").split(";") if r.strip()]
    try:
        return tuple(
            tuple(float(Fraction(v)) for v in row.replace("，", ",").replace(",", " ").split())
            for row in rows
        )
    except (ValueError, ZeroDivisionError):
        raise InputError("planweb.settings.not_judgments", value=text) from None


def settings_from_form(form: Mapping[str, str]) -> PlanSettings:
    """Settings from the plan page's form: limits typed as numbers separated by commas, shares
    in percent (blank or 0: no minimum), factor weights as plain numbers, codes as text."""
    mapping: dict[str, Any] = {
        "budget": numbers(form.get("budget", ""), "budget") or (DEFAULT_BUDGET,),
        "staff": numbers(form.get("staff", ""), "staff") or (DEFAULT_STAFF,),
        "phase_years": numbers(form.get("phase_years", "") or "2,2,1", "phase_years"),
        "mandatory": split_codes(form.get("mandatory", "")),
        "excluded": split_codes(form.get("excluded", "")),
        "built": split_codes(form.get("built", "")),
        "case": form.get("case") or "likely",
    }
    for field in ("phase_budget", "phase_staff"):
        if form.get(field, "").strip():
            mapping[field] = numbers(form[field], field)
    if form.get("first_year", "").strip():
        mapping["first_year"] = form["first_year"].strip()
    if form.get("framework"):
        mapping["framework"] = form["framework"]
    if form.get("judgments", "").strip():
        mapping["judgments"] = judgments(form["judgments"])
    if form.get("need_weight", "").strip():
        mapping["need_weight"] = form["need_weight"].strip()
    shares = {k: numbers(form.get(f"share_{k.value}", ""), f"share_{k.value}") for k in PlanType}
    mapping["min_share"] = {k.value: v[0] / 100.0 for k, v in shares.items() if v and v[0] > 0}
    weights = {f: numbers(form.get(f"w_{f}", ""), f"w_{f}") for f in FACTORS}
    if any(weights.values()):
        mapping["factor_weights"] = {f: (w[0] if w else 0.0) for f, w in weights.items()}
    return plan_settings(mapping)
