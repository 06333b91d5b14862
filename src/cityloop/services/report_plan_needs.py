"""Chapter 1 of the top-level design document: the needs the plan listened to, by the three
subjects (government departments, enterprises, citizens) and the three levels of need.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cityloop.errors import CityLoopError
from cityloop.i18n import pick, t
from cityloop.reports import Block, Column, ColumnKind, Heading, Paragraph, Table
from cityloop.services.report_plan_sections import PlanContext
from cityloop.services.survey_results import CandidateList, candidate_applications_for
from cityloop.store import Database
from cityloop.survey.items import NeedLevel, Subject

SUBJECTS = (Subject.GOVERNMENT, Subject.ENTERPRISE, Subject.PUBLIC)
TOP_APPLICATIONS = 10


# -- 1 needs analysis --------------------------------------------------------------------------


def _candidates(db: Database, c: PlanContext) -> tuple[CandidateList | None, str]:
    """The needs the plan listened to: the survey year it used, else its evaluation year."""
    v = c.saved.view
    year = v.survey_year or v.evaluation_year
    try:
        return candidate_applications_for(db, c.saved.unit, year), ""
    except CityLoopError as refused:
        return None, refused.render()


def evidence_frame(listed: CandidateList) -> pd.DataFrame:
    """One row per (application, subject that stated it): level, share (0-1), demand, rank."""
    rows = [
        (a.code, a.rank, a.level.value, a.demand, e.subject.value, e.share)
        for a in listed.candidates
        for e in a.evidence
    ]
    columns = ["application", "rank", "level", "demand", "subject", "share"]
    return pd.DataFrame(rows, columns=columns)


def needs_matrix(evidence: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Subjects × levels: how many applications each subject stated a need for, and the mean
    share of its respondents stating them (NaN where it stated none)."""
    subjects, levels = [s.value for s in SUBJECTS], [lv.value for lv in NeedLevel]
    grouped = evidence.groupby(["subject", "level"])["share"]
    count = grouped.size().unstack().reindex(index=subjects, columns=levels).fillna(0)
    share = grouped.mean().unstack().reindex(index=subjects, columns=levels)
    return count, share


def _share(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def needs_section(db: Database, c: PlanContext) -> list[Block]:
    blocks: list[Block] = [Heading(t("repplan.h.needs"))]
    listed, refused = _candidates(db, c)
    if listed is None or not listed.candidates:
        key = "repplan.needs.refused" if refused else "repplan.needs.none"
        return [*blocks, Paragraph(t(key, problem=refused, year=c.saved.view.evaluation_year))]
    surveyed = t("repplan.sep").join(
        t(f"plandiag.subject.{s.value}") for s in SUBJECTS if s in listed.surveys
    )
    blocks.append(
        Paragraph(
            t(
                "repplan.needs.intro",
                year=listed.year,
                subjects=surveyed,
                count=len(listed.candidates),
            )
        )
    )
    count, share = needs_matrix(evidence_frame(listed))
    levels = [lv.value for lv in NeedLevel]
    columns = [Column(t("repplan.col.subject"))] + [
        col
        for lv in levels
        for col in (
            Column(
                t("repplan.col.level_count", level=t(f"repplan.level_short.{lv}")),
                ColumnKind.INTEGER,
            ),
            Column(
                t("repplan.col.level_share", level=t(f"repplan.level_short.{lv}")),
                ColumnKind.PERCENT,
                1,
            ),
        )
    ]
    counts, shares = count.to_numpy(np.int64), share.to_numpy(np.float64)
    rows = tuple(
        (
            t(f"plandiag.subject.{s.value}"),
            *(x for k in range(len(levels)) for x in (int(counts[i, k]), _share(shares[i, k]))),
        )
        for i, s in enumerate(SUBJECTS)
    )
    blocks.append(
        Table(
            t("repplan.table.needs_matrix"),
            tuple(columns),
            rows,
            key=t("repplan.sheet.needs_matrix"),
            note=t("repplan.needs.matrix_note"),
        )
    )
    answered = c.answered_by()
    top = listed.candidates[:TOP_APPLICATIONS]
    blocks.append(
        Table(
            t("repplan.table.top_needs", count=len(top)),
            (
                Column(t("repplan.col.rank"), ColumnKind.INTEGER),
                Column(t("repplan.col.application")),
                Column(t("repplan.col.level")),
                Column(t("repplan.col.term")),
                Column(t("repplan.col.demand"), ColumnKind.NUMBER, 1),
                Column(t("repplan.col.subjects")),
                Column(t("repplan.col.answered_by")),
            ),
            tuple(
                (
                    a.rank,
                    pick({"zh": a.name_zh, "en": a.name_en}),
                    t(f"repplan.level.{a.level.value}"),
                    t(f"plandiag.term.{a.term.value}"),
                    a.demand,
                    t("repplan.sep").join(t(f"plandiag.subject.{s.value}") for s in a.subjects),
                    ", ".join(answered.get(a.code, ())) or "—",
                )
                for a in top
            ),
            key=t("repplan.sheet.top_needs"),
            note=t("repplan.needs.demand_note"),
        )
    )
    return blocks
