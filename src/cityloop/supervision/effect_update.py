"""Close the loop: update a catalogue project's expected-effect range from the effects measured
in the cities that delivered it (normal–normal precision weighting), for the next plan."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats

from cityloop.errors import InputError, Location, Problem
from cityloop.planning.project_types import CatalogueProject, EffectRange

# The catalogue's low–high span is read as a central 90 % range of the likely improvement.
RANGE_COVERAGE = 0.9


@dataclass(frozen=True)
class ObservedEffect:
    """One city's measured effect (``DiDResult.estimate`` and ``std_error``)."""

    unit: str
    estimate: float
    std_error: float


@dataclass(frozen=True)
class UpdatedEffect:
    """The posterior range, the prior and posterior standard deviations, the
    precision-weighted mean of the observations (NaN with none) and how many there were."""

    effect: EffectRange
    prior_sd: float
    posterior_sd: float
    posterior_mean: float
    observed_mean: float
    evidence: int


def update_effect_range(
    prior: EffectRange,
    observations: Sequence[ObservedEffect],
    *,
    coverage: float = RANGE_COVERAGE,
) -> UpdatedEffect:
    """Update an expected-effect range with measured effects (a normal–normal model).

    The prior is normal with mean ``likely`` and standard deviation
    ``(high − low) / (2 z)``, ``z`` the normal quantile of ``(1 + coverage) / 2``. Each
    observation is normal around the true effect with its own standard error; the posterior
    precision is the sum of the precisions and the posterior mean the precision-weighted mean
    (Gelman et al., *Bayesian Data Analysis*, 3rd ed., §2.5).

    The new ``likely`` is the posterior mean floored at 0. The new ``low`` and ``high`` keep the
    prior's shape: each side of the range is scaled by posterior sd / prior sd around the new
    mean, then floored at 0. For a symmetric prior they are exactly the posterior quantiles at
    ``coverage``; an asymmetric prior keeps its skew, and no observations leave it unchanged.
    A zero-width prior (low = high) is held as certain and is not moved by evidence.

    Raises
    ------
    InputError
        ``outcome.update.invalid`` naming each bad observation (by its city) or setting.
    """
    problems = [
        Problem(
            "outcome.update.bad_observation",
            {"unit": o.unit, "estimate": o.estimate, "std_error": o.std_error},
            Location(row=row),
        )
        for row, o in enumerate(observations, start=1)
        if not (np.isfinite(o.estimate) and np.isfinite(o.std_error) and o.std_error > 0.0)
    ]
    if not 0.0 < coverage < 1.0:
        problems.append(
            Problem(
                "outcome.update.bad_coverage", {"coverage": coverage}, Location(column="coverage")
            )
        )
    if problems:
        raise InputError("outcome.update.invalid", problems)
    z = float(stats.norm.ppf(0.5 + coverage / 2.0))
    prior_sd = (prior.high - prior.low) / (2.0 * z)
    estimate = np.array([o.estimate for o in observations], dtype=np.float64)
    precision = np.array([o.std_error for o in observations], dtype=np.float64) ** -2.0
    observed_mean = float(estimate @ precision / precision.sum()) if estimate.size else np.nan
    if estimate.size == 0 or prior_sd == 0.0:
        return UpdatedEffect(prior, prior_sd, prior_sd, prior.likely, observed_mean, estimate.size)
    posterior_precision = prior_sd**-2.0 + precision.sum()
    posterior_sd = float(posterior_precision**-0.5)
    mean = float((prior.likely * prior_sd**-2.0 + estimate @ precision) / posterior_precision)
    shrink = posterior_sd / prior_sd
    effect = replace(
        prior,
        low=max(0.0, mean - shrink * (prior.likely - prior.low)),
        likely=max(0.0, mean),
        high=max(0.0, mean + shrink * (prior.high - prior.likely)),
    )
    return UpdatedEffect(effect, prior_sd, posterior_sd, mean, observed_mean, estimate.size)


def update_project_effects(
    project: CatalogueProject,
    observed: Mapping[str, Sequence[ObservedEffect]],
    *,
    coverage: float = RANGE_COVERAGE,
) -> CatalogueProject:
    """The project with each effect range updated from ``observed[indicator]``; indicators
    without observations keep their range. The next plan reads the returned project."""
    problems = [
        Problem(
            "outcome.update.indicator_mismatch",
            {"observed": indicator, "promised": ", ".join(e.indicator for e in project.effects)},
            Location(column=project.code),
        )
        for indicator in observed
        if indicator not in {e.indicator for e in project.effects}
    ]
    if problems:
        raise InputError("outcome.update.invalid", problems)
    effects = tuple(
        update_effect_range(e, observed.get(e.indicator, ()), coverage=coverage).effect
        for e in project.effects
    )
    return replace(project, effects=effects)
