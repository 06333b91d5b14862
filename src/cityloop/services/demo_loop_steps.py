"""The demo loop's simulated world: project managers' progress reports (on time, late, over budget)
and the SYNTHETIC indicator values of the years after the plan, with planted project effects.

Used only by ``cityloop.services.demo_loop``; every value written here is labelled synthetic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from cityloop.accounts import Principal
from cityloop.datahub.indicator_table import validate_values
from cityloop.demo.generator import VALUE_COLUMNS
from cityloop.demo.loop_panel import PlantedEffect, continue_panel, plant_effects
from cityloop.frameworks.schema import Direction
from cityloop.services.supervision import update_progress
from cityloop.store import Database, Origin, OriginKind
from cityloop.store.tracking import StoredProject
from cityloop.supervision import GateKind

REPORT_DAY = (12, 20)  # each year's progress report and milestone completion: 20 December
# A late project has done this share of each milestone's work by the status date.
LATE_SHARE = 0.55
OVERSPEND = 1.35  # an over-budget project pays this multiple of each year's budget


def loop_source(seed: int) -> str:
    """The ``source`` written on every value the loop adds."""
    return f"合成演示数据 SYNTHETIC demo loop (seed {seed})"


def _day(year: int) -> date:
    return date(year, *REPORT_DAY)


def simulate_progress(
    db: Database,
    project: StoredProject,
    manager: Principal,
    status_date: date,
    *,
    late: bool = False,
    spend_factor: float = 1.0,
) -> None:
    """Report ``project``'s progress year by year up to ``status_date`` as ``manager``.

    On time: each milestone due by then completed on 20 December of its year, each gate due
    by then passed on its due date, each year's budget × ``spend_factor`` paid in two halves.
    Late: every due milestone only ``LATE_SHARE`` done, gates after the design review not
    passed, and only the earned share paid (late, not over budget).
    """
    record = project.record
    years = range(record.start_date.year, status_date.year + 1)
    budget = {b.year: b.planned_cost for b in record.budget}
    for year in years:
        report = min(_day(year), status_date)
        milestones: list[dict[str, Any]] = []
        for position, m in enumerate(record.milestones, start=1):
            if m.planned_date.year != year:
                continue
            if late:
                milestones.append({"position": position, "percent_complete": LATE_SHARE * 100})
            else:
                milestones.append({"position": position, "percent_complete": 100,
                                   "completed_date": report.isoformat()})  # fmt: skip
        gates = [
            {"kind": g.kind.value, "passed_date": g.planned_date.isoformat()}
            for g in record.gates
            if g.planned_date.year == year
            and g.planned_date <= report
            and (not late or g.kind is GateKind.DESIGN_REVIEW)
        ]
        share = LATE_SHARE if late else spend_factor
        amount = budget.get(year, 0.0) * share
        spend = [
            {"day": date(year, month, 30 if month == 6 else 15).isoformat(),
             "amount": round(amount / 2, 2), "note": "演示 synthetic"}
            for month in (6, 12)
            if amount > 0 and date(year, month, 15) <= report
        ]  # fmt: skip
        update = {"report_date": report.isoformat(), "milestones": milestones, "gates": gates,
                  "spend": spend, "note": "演示闭环（合成） demo loop (synthetic)"}  # fmt: skip
        update_progress(db, project.unit, record.code, update, actor=manager)


@dataclass(frozen=True)
class PanelWritten:
    """What ``write_loop_panel`` added: the years, the rows, and each planted effect with the
    improvement that reached the data (less than planted where the value hit its ceiling)."""

    years: tuple[int, ...]
    rows: int
    planted: list[tuple[PlantedEffect, float]]


def write_loop_panel(
    db: Database,
    framework_id: str,
    years: Sequence[int],
    planted: Sequence[PlantedEffect],
    *,
    seed: int,
    actor: str,
) -> PanelWritten:
    """Continue every unit's values of ``framework_id`` into ``years`` (``continue_panel``),
    plant the effects, validate and store them (origin: demo, labelled synthetic)."""
    framework = db.framework(framework_id)
    history = db.values_frame(framework_id)
    kinds = dict(zip(framework.indicator_codes, framework.value_type, strict=True))
    directions = {i.code: Direction(i.direction) for i in framework.indicators}
    plain = continue_panel(history, years, kinds, seed=seed)
    panel = plant_effects(plain, planted, directions, kinds)
    reached = []
    for effect in planted:
        cells = (panel["unit"] == effect.unit) & (panel["indicator"] == effect.indicator)
        cells &= panel["year"] >= effect.first_year
        shift = (panel.loc[cells, "value"] - plain.loc[cells, "value"]).to_numpy(np.float64)
        sign = -1.0 if directions[effect.indicator] == Direction.LOWER else 1.0
        reached.append((effect, float(sign * shift.mean()) if shift.size else 0.0))
    frame = panel.assign(source=loop_source(seed), note="")[list(VALUE_COLUMNS)]
    table = validate_values(frame, framework, db.units(), source="<demo loop>")
    origin = Origin(
        OriginKind.DEMO, f"cityloop demo-loop seed={seed} years={min(years)}-{max(years)}"
    )
    db.upsert_values(table, framework, actor, origin)
    return PanelWritten(tuple(sorted(years)), len(frame), reached)
