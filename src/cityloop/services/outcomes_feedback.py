"""Close the loop: pool the effects every unit's latest outcome assessment measured and write the
updated expected-effect ranges into a unit's catalogue overrides, so its next plan reads them.

``feed_back`` is idempotent: each update starts from the range the unit had before any feedback.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

from pydantic import BaseModel, ConfigDict

from cityloop.accounts import Action, Principal, authorise
from cityloop.errors import InputError
from cityloop.planning.project_catalogue import ProjectCatalogue
from cityloop.planning.project_types import CatalogueProject, EffectRange
from cityloop.services.plan_catalogue import set_override, unit_catalogue
from cityloop.store import Database
from cityloop.store.outcomes import FeedbackRange, PooledEffect
from cityloop.supervision.effect_update import ObservedEffect, update_project_effects

Bounds = tuple[float, float, float]
# Ranges closer than this count as equal: they went through JSON and back.
SAME_RANGE = 1e-9


def acting_user(db: Database, unit: str, actor: Principal | str, action: Action) -> str:
    """The username to record for ``actor`` on ``unit``, after checking a signed-in user.

    A plain username is a system or CLI actor the caller has already authorised (as in
    ``set_override`` and ``track_plan``); a ``Principal`` must hold ``action`` on ``unit``.

    Raises
    ------
    InputError
        ``store.unknown_region``: no stored unit ``unit``.
    AccessDenied
        The principal's role lacks ``action`` or ``unit`` is outside their region.
    """
    units = db.units()
    if units is None or unit not in units.table.index:
        raise InputError("store.unknown_region", value=unit)
    if isinstance(actor, Principal):
        authorise(actor, action, unit=unit, units=units)
        return actor.username
    return actor


class EffectChange(BaseModel):
    """A project's expected effect on one indicator before and after feedback (low, likely,
    high), and how many cities' measured effects moved it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    indicator: str
    before: Bounds
    after: Bounds
    evidence: int


def _bounds(effect: EffectRange) -> Bounds:
    return (effect.low, effect.likely, effect.high)


def _same(a: Bounds, b: Bounds) -> bool:
    pairs = zip(a, b, strict=True)
    return all(math.isclose(x, y, rel_tol=SAME_RANGE, abs_tol=SAME_RANGE) for x, y in pairs)


def _observations(
    pooled: Sequence[PooledEffect],
) -> dict[str, dict[str, list[ObservedEffect]]]:
    """code → indicator → the cities' observations; an effect without a positive finite
    standard error carries no weight in the update and is left out."""
    found: dict[str, dict[str, list[ObservedEffect]]] = defaultdict(lambda: defaultdict(list))
    for e in pooled:
        if math.isfinite(e.estimate) and math.isfinite(e.std_error) and e.std_error > 0.0:
            found[e.project_code][e.indicator].append(
                ObservedEffect(e.unit, e.estimate, e.std_error)
            )
    return found


def _prior(
    project: CatalogueProject, written: dict[tuple[str, str], FeedbackRange]
) -> CatalogueProject:
    """The project as it was before feedback: where the unit's range is still the one feedback
    wrote, that range's stored prior; where the office changed it since (or feedback never
    touched it), the range as it is now."""
    effects = []
    for e in project.effects:
        last = written.get((project.code, e.indicator))
        if last is not None and _same(last.posterior, _bounds(e)):
            low, likely, high = last.prior
            e = replace(e, low=low, likely=likely, high=high)
        effects.append(e)
    return replace(project, effects=tuple(effects))


def feed_back(db: Database, unit: str, *, actor: Principal | str) -> list[EffectChange]:
    """Update ``unit``'s catalogue effect ranges from every unit's latest assessment.

    For each project of ``unit_catalogue(db, unit)`` with effects measured in the newest stored
    report of any unit (on the catalogue's framework), the cities' estimates and standard
    errors are pooled per indicator and ``update_project_effects`` (normal–normal) gives the
    new range, written as the unit's override of the project's effects (``set_override``).

    The prior of each update is the range before any feedback (kept in ``effect_feedback``
    when feedback first wrote it), never an already-updated range: feeding back again with no
    new reports changes nothing, and a new report replaces its city's earlier evidence instead
    of adding to it. A range the office edited after feedback becomes the new prior.

    Returns
    -------
    list of EffectChange
        The ranges that changed (only those), by project code then indicator.

    Raises
    ------
    AccessDenied
        A principal without PLAN_PROGRAMME on ``unit``.
    """
    username = acting_user(db, unit, actor, Action.PLAN_PROGRAMME)
    catalogue: ProjectCatalogue = unit_catalogue(db, unit)
    observed = _observations(db.outcomes.latest_effects(catalogue.framework))
    written = db.outcomes.feedback(unit)
    changes: list[EffectChange] = []
    for code, by_indicator in sorted(observed.items()):
        project = catalogue.projects.get(code)
        if project is None:
            continue
        promised = {e.indicator for e in project.effects if e.framework == catalogue.framework}
        usable = {i: obs for i, obs in by_indicator.items() if i in promised}
        if not usable:
            continue
        prior = _prior(project, written)
        updated = update_project_effects(prior, usable)
        ranges, moved = [], []
        for now, before, after in zip(project.effects, prior.effects, updated.effects, strict=True):
            if now.indicator not in usable or _same(_bounds(now), _bounds(after)):
                continue
            evidence = len(usable[now.indicator])
            ranges.append(FeedbackRange(code, now.framework, now.indicator, _bounds(before),
                                        _bounds(after), evidence))  # fmt: skip
            moved.append(EffectChange(code=code, indicator=now.indicator, before=_bounds(now),
                                      after=_bounds(after), evidence=evidence))  # fmt: skip
        if not moved:
            continue
        # The prior is kept before the override is written: should the override then fail,
        # the unit's range differs from the one recorded here and is taken as the next prior.
        db.outcomes.write_feedback(unit, ranges, actor=username)
        effects = [
            {"framework": e.framework, "indicator": e.indicator, "low": e.low,
             "likely": e.likely, "high": e.high}
            for e in (
                after if after.indicator in usable else now
                for now, after in zip(project.effects, updated.effects, strict=True)
            )
        ]  # fmt: skip
        set_override(db, unit, code, {"effects": effects}, actor=username)
        changes += moved
    return changes
