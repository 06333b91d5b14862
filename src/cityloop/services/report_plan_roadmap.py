"""Chapters 5 and 6 of the top-level design document: the roadmap (Gantt chart, budget and
staff by year against the limits) and the expected overall score and indicator trajectory.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cityloop.evaluation.config import STAGES
from cityloop.i18n import pick, t
from cityloop.reports import (
    Block,
    Chart,
    ChartKind,
    Column,
    ColumnKind,
    Figure,
    Heading,
    Paragraph,
    ReferenceLine,
    Series,
    Table,
)
from cityloop.services.plan_view import IndicatorPath, PlanView
from cityloop.services.report_plan_sections import PlanContext

INDICATORS_CHARTED = 5  # the indicators with the largest possible gain get a line each


# -- 5 roadmap -----------------------------------------------------------------------------------


def budget_by_phase(view: PlanView) -> pd.DataFrame:
    """Phases × calendar years: the cost (万元) of each phase's projects spent in each year,
    each project's yearly cost placed from its start year."""
    years = [u.year for u in view.years]
    chosen = pd.DataFrame(
        {
            "phase": [p.phase for p in view.chosen],
            "start": [p.start_year for p in view.chosen],
            "cost": [p.cost for p in view.chosen],
        }
    ).explode("cost")
    chosen["cost"] = chosen["cost"].astype(np.float64)
    chosen["year"] = chosen["start"] + chosen.groupby(level=0).cumcount()
    table = chosen.pivot_table(index="phase", columns="year", values="cost", aggfunc="sum")
    return table.reindex(index=view.phase_names, columns=years).fillna(0.0).astype(np.float64)


def roadmap_section(c: PlanContext) -> list[Block]:
    """The three phases, the Gantt chart, and budget and staff by year against the limits."""
    v = c.view
    chosen = v.chosen
    start = np.cumsum([0, *v.phase_years])[:-1] + v.first_year
    phases = [v.phase_label(n) for n in v.phase_names]
    blocks: list[Block] = [
        Heading(t("repplan.h.roadmap")),
        Paragraph(t("repplan.roadmap.intro", phases=t("repplan.sep").join(phases))),
        Table(
            t("repplan.table.phases"),
            (
                Column(t("repplan.col.phase")),
                Column(t("repplan.col.period")),
                Column(t("repplan.col.projects"), ColumnKind.INTEGER),
                Column(t("repplan.col.cost"), ColumnKind.NUMBER, 1),
                Column(t("repplan.col.staff"), ColumnKind.NUMBER, 1),
            ),
            tuple(
                (
                    label,
                    f"{s}–{s + n - 1}" if n > 1 else str(s),
                    sum(p.phase == name for p in chosen),
                    sum(p.total_cost for p in chosen if p.phase == name),
                    sum(p.total_staff for p in chosen if p.phase == name),
                )
                for name, label, s, n in zip(
                    v.phase_names, phases, start, v.phase_years, strict=True
                )
            ),
            key=t("repplan.sheet.phases"),
            note=t("repplan.roadmap.phase_note"),
        ),
        Figure(
            t("repplan.figure.gantt"),
            Chart(
                ChartKind.SPAN,
                tuple(pick(p.name) for p in chosen),
                (
                    Series(t("repplan.col.start"), tuple(float(p.start_year or 0) for p in chosen)),
                    Series(
                        t("repplan.col.end"), tuple(float((p.finish_year or 0) + 1) for p in chosen)
                    ),
                ),
                t("repplan.axis.year"),
                groups=tuple(v.phase_label(p.phase) for p in chosen),
            ),
        ),
    ]
    spent = budget_by_phase(v)
    years = tuple(str(u.year) for u in v.years)
    limits = {u.budget_available for u in v.years}
    reference = (
        (ReferenceLine(t("repplan.axis.budget_limit"), limits.pop()),) if len(limits) == 1 else ()
    )
    blocks.append(
        Figure(
            t("repplan.figure.budget"),
            Chart(
                ChartKind.STACKED,
                years,
                tuple(
                    Series(v.phase_label(name), tuple(float(x) for x in row))
                    for name, row in zip(v.phase_names, spent.to_numpy(np.float64), strict=True)
                ),
                t("repplan.axis.budget"),
                reference,
            ),
        )
    )
    blocks.append(
        Figure(
            t("repplan.figure.staff"),
            Chart(
                ChartKind.BAR,
                years,
                (
                    Series(t("repplan.col.staff_used"), tuple(u.staff_used for u in v.years)),
                    Series(
                        t("repplan.col.staff_available"), tuple(u.staff_available for u in v.years)
                    ),
                ),
                t("repplan.axis.staff"),
            ),
        )
    )
    blocks.append(
        Table(
            t("repplan.table.years"),
            (
                Column(t("repplan.col.year")),
                Column(t("repplan.col.phase")),
                Column(t("repplan.col.budget_used"), ColumnKind.NUMBER, 1),
                Column(t("repplan.col.budget_available"), ColumnKind.NUMBER, 1),
                Column(t("repplan.col.staff_used"), ColumnKind.NUMBER, 1),
                Column(t("repplan.col.staff_available"), ColumnKind.NUMBER, 1),
            ),
            tuple(
                (
                    str(u.year),
                    v.phase_label(u.phase),
                    u.budget_used,
                    u.budget_available,
                    u.staff_used,
                    u.staff_available,
                )
                for u in v.years
            ),
            key=t("repplan.sheet.years"),
        )
    )
    return blocks


# -- 6 trajectory --------------------------------------------------------------------------------


def moved_indicators(view: PlanView) -> list[IndicatorPath]:
    """The indicators whose expected value changes over the plan (the chosen projects move
    them); the others some catalogue project could move stay out of the document."""
    start = [i.values[0] if i.current is None else i.current for i in view.indicators]
    return [
        i for i, s in zip(view.indicators, start, strict=True) if i.values and i.values[-1] != s
    ]


def trajectory_section(c: PlanContext) -> list[Block]:
    """The expected overall score by year over the stage thresholds, and the improved
    indicators' expected values."""
    v = c.view
    if not v.trajectory:
        return [Heading(t("repplan.h.trajectory")), Paragraph(t("repplan.trajectory.none"))]
    end = v.trajectory[-1]
    years = (str(v.evaluation_year), *(str(p.year) for p in v.trajectory))
    thresholds = tuple(
        ReferenceLine(t(f"stage.{STAGES[k + 1]}"), value) for k, value in enumerate(v.thresholds)
    )
    blocks: list[Block] = [
        Heading(t("repplan.h.trajectory")),
        Paragraph(
            t(
                "repplan.trajectory.intro",
                year=v.evaluation_year,
                total=f"{v.baseline_total:.2f}",
                stage=v.stage_name(v.baseline_stage),
                end_year=end.year,
                end_total=f"{end.total:.2f}",
                end_stage=v.stage_name(end.stage),
                gain=f"{v.gain_total:.2f}",
            )
        ),
        Figure(
            t("repplan.figure.trajectory"),
            Chart(
                ChartKind.LINE,
                years,
                (
                    Series(
                        t("repplan.col.total"), (v.baseline_total, *(p.total for p in v.trajectory))
                    ),
                ),
                t("repplan.axis.score"),
                thresholds,
            ),
        ),
        Table(
            t("repplan.table.trajectory"),
            (
                Column(t("repplan.col.year")),
                Column(t("repplan.col.total"), ColumnKind.NUMBER, 2),
                Column(t("repplan.col.stage")),
            ),
            (
                (str(v.evaluation_year), v.baseline_total, v.stage_name(v.baseline_stage)),
                *((str(p.year), p.total, v.stage_name(p.stage)) for p in v.trajectory),
            ),
            key=t("repplan.sheet.trajectory"),
            note=t("repplan.trajectory.note", case=t(f"planweb.case.{v.case}")),
        ),
    ]
    moved = moved_indicators(v)
    if not moved:
        return blocks
    plan_years = tuple(str(p.year) for p in v.trajectory)
    charted = sorted(moved, key=lambda i: -i.cap_points)[:INDICATORS_CHARTED]
    blocks.append(
        Figure(
            t("repplan.figure.indicators", count=len(charted)),
            Chart(
                ChartKind.LINE,
                plan_years,
                tuple(Series(i.code, tuple(i.values)) for i in charted),
                t("repplan.axis.value"),
            ),
        )
    )
    blocks.append(
        Table(
            t("repplan.table.indicators"),
            (
                Column(t("repplan.col.code")),
                Column(t("repplan.col.indicator")),
                Column(t("repplan.col.current"), ColumnKind.NUMBER, 2),
                *(Column(y, ColumnKind.NUMBER, 2) for y in plan_years),
                Column(t("repplan.col.target"), ColumnKind.NUMBER, 2),
                Column(t("repplan.col.cap_points"), ColumnKind.NUMBER, 3),
            ),
            tuple(
                (i.code, pick(i.name), i.current, *i.values, i.target, i.cap_points) for i in moved
            ),
            key=t("repplan.sheet.indicators"),
            note=t("repplan.trajectory.indicator_note"),
        )
    )
    return blocks
