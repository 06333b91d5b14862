"""The verdict on a delivered project: its measured effect against the promised range and its
spend, the "规划大、成效小" (big plan, small result) flag, and cost per unit of improvement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from cityloop.errors import InputError, Location, Problem
from cityloop.planning.project_types import EffectRange
from cityloop.supervision.outcomes import DiDResult

# A project is "high spend" when it costs at least this much (万元, 10k yuan: 30 million yuan,
# a large project for one city's programme; an office sets its own line through VerdictRules)...
HIGH_SPEND_WAN = 3000.0
# ... or when it is in the top quarter of its programme's projects by spend.
HIGH_SPEND_QUANTILE = 0.75


class Verdict(StrEnum):
    """What the measured effect says about the promise; see ``assess_project`` for the rules."""

    DELIVERED = "delivered"
    WITHIN_RANGE = "within_range"
    BELOW_RANGE = "below_range"
    BIG_PLAN_SMALL_RESULT = "big_plan_small_result"
    NO_EFFECT = "no_effect"
    INCONCLUSIVE = "inconclusive"

    @property
    def label_key(self) -> str:
        """Translation key of the verdict's name."""
        return f"outcome.verdict.{self.value}"

    @property
    def rule_key(self) -> str:
        """Translation key of the rule that gave it (parameters: low, likely, spend)."""
        return f"outcome.rule.{self.value}"


@dataclass(frozen=True)
class VerdictRules:
    """When spend counts as high: at least ``high_spend`` (万元) or at least the
    ``quantile``-th quantile of the programme's project spends."""

    high_spend: float = HIGH_SPEND_WAN
    quantile: float = HIGH_SPEND_QUANTILE


@dataclass(frozen=True)
class CostPerUnit:
    """Spend per unit of improvement; ``per_unit`` is None when nothing improved."""

    cost: float
    effect: float
    per_unit: float | None

    @property
    def label_key(self) -> str | None:
        """``outcome.cost.no_improvement`` when there is no figure to show."""
        return "outcome.cost.no_improvement" if self.per_unit is None else None


@dataclass(frozen=True)
class Assessment:
    """A project's verdict on one indicator with everything that decided it."""

    promised: EffectRange
    measured: DiDResult
    spend: float
    high_spend: bool
    cost_per_unit: CostPerUnit
    verdict: Verdict


def cost_per_unit(cost: float, effect: float) -> CostPerUnit:
    """Spend per unit of improvement, ``cost / effect`` (万元 per indicator unit).

    A zero or negative effect has no meaningful cost per unit (a negative figure would read
    as a saving): ``per_unit`` is None, shown as "no measurable improvement".

    Raises
    ------
    InputError
        ``outcome.assess.invalid`` when the cost is negative or not finite.
    """
    if not (np.isfinite(cost) and cost >= 0.0):
        raise InputError(
            "outcome.assess.invalid",
            [Problem("outcome.assess.bad_spend", {"spend": cost}, Location(column="cost"))],
        )
    improved = bool(np.isfinite(effect) and effect > 0.0)
    return CostPerUnit(float(cost), float(effect), float(cost / effect) if improved else None)


def assess_project(
    promised: EffectRange,
    measured: DiDResult,
    spend: float,
    *,
    programme_spend: Sequence[float] = (),
    rules: VerdictRules = VerdictRules(),
) -> Assessment:
    """Compare the measured effect with the promised range, given the project's spend.

    The rules, first match wins (``[lo, hi]`` is the CI, ``est`` the estimate):

    1. INCONCLUSIVE: ``lo ≤ 0 < likely ≤ hi`` — the interval holds both no effect and the
       promised effect, so the data cannot tell them apart.
    2. DELIVERED: ``hi ≥ likely`` — the interval covers or exceeds the likely effect.
    3. When ``est < low`` (the whole interval is then below likely):
       BIG_PLAN_SMALL_RESULT if the spend is high (``rules``); else NO_EFFECT if
       ``lo ≤ 0 ≤ hi``; else BELOW_RANGE (the interval lies above 0 or entirely below it).
    4. WITHIN_RANGE: ``est ≥ low`` but ``hi < likely`` — smaller than likely, still in range.

    Parameters
    ----------
    promised
        The catalogue's (or the plan's) expected effect of the project on the indicator.
    measured
        ``did_effect`` for the same indicator.
    spend
        The project's actual spend, 万元.
    programme_spend
        Every project's spend in the programme (this one included), for the quantile rule.
    rules
        The high-spend thresholds.

    Raises
    ------
    InputError
        ``outcome.assess.invalid`` naming each fault (indicator mismatch, bad spend or rules).
    """
    problems: list[Problem] = []
    if promised.indicator != measured.indicator:
        problems.append(
            Problem(
                "outcome.assess.indicator_mismatch",
                {"promised": promised.indicator, "measured": measured.indicator},
            )
        )
    spends = np.asarray(programme_spend, dtype=np.float64)
    for value, column in [(spend, "spend"), *((s, "programme_spend") for s in spends)]:
        if not (np.isfinite(value) and value >= 0.0):
            problems.append(
                Problem("outcome.assess.bad_spend", {"spend": value}, Location(column=column))
            )
    if not (0.0 <= rules.quantile <= 1.0 and rules.high_spend >= 0.0):
        problems.append(
            Problem(
                "outcome.assess.bad_rules",
                {"threshold": rules.high_spend, "quantile": rules.quantile},
                Location(column="rules"),
            )
        )
    if problems:
        raise InputError("outcome.assess.invalid", problems)
    high = spend >= rules.high_spend or (
        spends.size > 0 and spend >= float(np.quantile(spends, rules.quantile))
    )
    return Assessment(
        promised=promised,
        measured=measured,
        spend=float(spend),
        high_spend=bool(high),
        cost_per_unit=cost_per_unit(spend, measured.estimate),
        verdict=_verdict(promised, measured, high_spend=bool(high)),
    )


def _verdict(promised: EffectRange, measured: DiDResult, *, high_spend: bool) -> Verdict:
    low, likely = promised.low, promised.likely
    est, lo, hi = measured.estimate, measured.ci_low, measured.ci_high
    if lo <= 0.0 < likely <= hi:
        return Verdict.INCONCLUSIVE
    if hi >= likely:
        return Verdict.DELIVERED
    if est < low:
        if high_spend:
            return Verdict.BIG_PLAN_SMALL_RESULT
        return Verdict.NO_EFFECT if lo <= 0.0 <= hi else Verdict.BELOW_RANGE
    return Verdict.WITHIN_RANGE
