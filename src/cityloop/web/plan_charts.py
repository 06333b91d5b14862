"""The data behind the plan page's charts (roadmap Gantt, budget by year, expected trajectory),
shaped for the ECharts builders in ``static/js/plan.js`` with every label translated.
"""

from __future__ import annotations

from typing import Any

from cityloop.evaluation.config import STAGES
from cityloop.i18n import pick, t
from cityloop.services.plan_view import PlanView


def gantt_data(view: PlanView) -> dict[str, Any]:
    """Chosen projects as bars from their first to their last construction year, one colour
    per domain, over bands for the phases."""
    start = view.first_year
    phases = []
    for name, years in zip(view.phase_names, view.phase_years, strict=True):
        phases.append({"name": view.phase_label(name), "start": start, "end": start + years})
        start += years
    chosen = view.chosen
    return {
        "first": view.first_year,
        "last": start,
        "phases": phases,
        "domains": sorted({pick(p.domain_name) for p in chosen}),
        "rows": [
            {
                "code": p.code,
                "label": pick(p.name),
                "domain": pick(p.domain_name),
                "start": p.start_year,
                "end": (p.finish_year or 0) + 1,
            }
            for p in chosen
        ],
        "year": t("planweb.col.year"),
    }


def budget_data(view: PlanView) -> dict[str, Any]:
    """Budget used (bars) and available (line) in each calendar year, staff likewise."""
    return {
        "years": [str(u.year) for u in view.years],
        "used": [round(u.budget_used, 2) for u in view.years],
        "available": [round(u.budget_available, 2) for u in view.years],
        "staff_used": [round(u.staff_used, 2) for u in view.years],
        "staff_available": [round(u.staff_available, 2) for u in view.years],
        "names": {
            "used": t("planweb.col.budget_used"),
            "available": t("planweb.col.budget_available"),
            "staff_used": t("planweb.col.staff_used"),
            "staff_available": t("planweb.col.staff_available"),
        },
    }


def trajectory_data(view: PlanView) -> dict[str, Any]:
    """The evaluated score, then the expected score of each plan year, over stage bands."""
    return {
        "years": [str(view.evaluation_year)] + [str(p.year) for p in view.trajectory],
        "totals": [round(view.baseline_total, 3)] + [round(p.total, 3) for p in view.trajectory],
        "thresholds": view.thresholds,
        "scale": view.scale,
        "stages": [t(f"stage.{s}") for s in STAGES],
        "name": t("planweb.col.total"),
    }


def chart_data(view: PlanView) -> dict[str, Any]:
    return {
        "gantt": gantt_data(view),
        "budget": budget_data(view),
        "trajectory": trajectory_data(view),
    }
