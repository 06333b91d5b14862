"""A plan as an Excel workbook an office can file and edit: its settings, the schedule with the
cost of each project in each calendar year, budget by year, project scores and the trajectory.

Headers are in the reader's language; the numbers are those of the ``PlanView`` unchanged.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from cityloop.i18n import current_language, pick, t
from cityloop.services.plan_settings import PlanSettings
from cityloop.services.plan_view import PlanView
from cityloop.services.workbook import write_workbook


def _settings_sheet(view: PlanView, settings: PlanSettings, name: str, lang: str) -> pd.DataFrame:
    def joined(values: object) -> str:
        return ", ".join(map(str, values)) if isinstance(values, list | tuple) else str(values)

    rows = [
        ("plan", name),
        ("unit", view.unit),
        ("framework", view.framework_id),
        ("run", view.run_id),
        ("evaluation_year", view.evaluation_year),
        ("first_year", view.first_year),
        (
            "phases",
            joined([f"{n} {y}" for n, y in zip(view.phase_names, view.phase_years, strict=True)]),
        ),
        ("budget", joined(settings.budget)),
        ("staff", joined(settings.staff)),
        ("phase_budget", joined(settings.phase_budget or "—")),
        ("phase_staff", joined(settings.phase_staff or "—")),
        ("mandatory", joined(settings.mandatory or "—")),
        ("excluded", joined(settings.excluded or "—")),
        ("built", joined(settings.built or "—")),
        ("min_share", joined([f"{k}≥{v:.0%}" for k, v in settings.min_share.items()] or "—")),
        ("case", t(f"planweb.case.{view.case}", lang)),
        ("need_weight", view.need_weight),
        ("status", t(f"planweb.status.{view.status}", lang)),
        ("objective", view.objective if view.objective is not None else "—"),
        ("gap", view.relative_gap if view.relative_gap is not None else "—"),
        ("baseline_total", round(view.baseline_total, 4)),
        ("expected_total", round(view.trajectory[-1].total, 4) if view.trajectory else "—"),
    ]
    return pd.DataFrame(
        {
            t("planweb.xlsx.setting", lang): [t(f"planweb.xlsx.s.{k}", lang) for k, _ in rows],
            t("planweb.xlsx.value", lang): [str(v) for _, v in rows],
        }
    )


def schedule_frame(view: PlanView, lang: str) -> pd.DataFrame:
    """One row per chosen project with its cost in each calendar year of the plan (万元)."""
    years = [u.year for u in view.years]
    rows = []
    for p in view.chosen:
        start = p.start_year or 0
        cost = {y: (p.cost[y - start] if 0 <= y - start < len(p.cost) else 0.0) for y in years}
        rows.append(
            {
                t("planweb.col.code", lang): p.code,
                t("planweb.col.project", lang): pick(p.name, lang),
                t("planweb.col.domain", lang): pick(p.domain_name, lang),
                t("planweb.col.phase", lang): view.phase_label(p.phase, lang),
                t("planweb.col.start", lang): p.start_year,
                t("planweb.col.finish", lang): p.finish_year,
                **{str(y): cost[y] for y in years},
                t("planweb.col.total_cost", lang): p.total_cost,
            }
        )
    return pd.DataFrame(rows)


def _budget_sheet(view: PlanView, lang: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            t("planweb.col.year", lang): [u.year for u in view.years],
            t("planweb.col.phase", lang): [view.phase_label(u.phase, lang) for u in view.years],
            t("planweb.col.budget_used", lang): [u.budget_used for u in view.years],
            t("planweb.col.budget_available", lang): [u.budget_available for u in view.years],
            t("planweb.col.staff_used", lang): [u.staff_used for u in view.years],
            t("planweb.col.staff_available", lang): [u.staff_available for u in view.years],
        }
    )


def _scores_sheet(view: PlanView, lang: str) -> pd.DataFrame:
    ps = view.projects
    return pd.DataFrame(
        {
            t("planweb.col.code", lang): [p.code for p in ps],
            t("planweb.col.project", lang): [pick(p.name, lang) for p in ps],
            t("planweb.factor.foundation", lang): [p.foundation for p in ps],
            t("planweb.factor.importance", lang): [p.importance for p in ps],
            t("planweb.factor.cycle", lang): [p.cycle for p in ps],
            t("planweb.factor.funding", lang): [p.total_cost for p in ps],
            t("planweb.factor.personnel", lang): [p.total_staff for p in ps],
            t("planweb.col.need_value", lang): [p.need_value for p in ps],
            t("planweb.col.score_gain", lang): [p.score_gain for p in ps],
            t("planweb.col.closeness", lang): [p.closeness for p in ps],
            t("planweb.col.rank", lang): [p.rank for p in ps],
            t("planweb.col.chosen", lang): [p.chosen for p in ps],
        }
    )


def _trajectory_sheet(view: PlanView, lang: str) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            t("planweb.col.year", lang): [p.year for p in view.trajectory],
            t("planweb.col.total", lang): [p.total for p in view.trajectory],
            t("planweb.col.stage", lang): [view.stage_name(p.stage, lang) for p in view.trajectory],
        }
    )
    for ind in view.indicators:
        frame[f"{ind.code} {pick(ind.name, lang)}"] = ind.values
    return frame


def plan_workbook(
    view: PlanView, settings: PlanSettings, name: str = "", lang: str | None = None
) -> bytes:
    """The workbook's bytes: sheets settings, schedule, budget, scores and trajectory."""
    lang = lang or current_language()
    sheets = {
        t("planweb.xlsx.sheet_settings", lang): _settings_sheet(view, settings, name, lang),
        t("planweb.xlsx.sheet_schedule", lang): schedule_frame(view, lang),
        t("planweb.xlsx.sheet_budget", lang): _budget_sheet(view, lang),
        t("planweb.xlsx.sheet_scores", lang): _scores_sheet(view, lang),
        t("planweb.xlsx.sheet_trajectory", lang): _trajectory_sheet(view, lang),
    }
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "plan.xlsx"
        write_workbook(path, sheets, lang)
        return path.read_bytes()
