"""Outcome assessments in the store: a unit's reports with their measured effects, the latest
effects of every unit for feedback, and the ranges feedback wrote. ``db.outcomes`` is the facade.

Every report and every feedback write is audited.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from cityloop.errors import InputError
from cityloop.store.audit import json_safe, record_audit, utc_now
from cityloop.store.models import (
    EffectFeedback,
    OutcomeEffect,
    OutcomeReportRecord,
    Region,
    TrackedProjectRecord,
)

REPORT_ENTITY = "outcome_reports"
FEEDBACK_ENTITY = "effect_feedback"


@dataclass(frozen=True)
class MeasuredEffect:
    """One project × indicator effect of a report, as feedback pools it."""

    project_code: str
    indicator: str
    estimate: float
    std_error: float
    verdict: str


@dataclass(frozen=True)
class ReportRow:
    """A stored report: its settings, who made it when, and the report itself as JSON."""

    id: int
    unit: str
    framework_id: str
    as_of: date
    confidence: float
    seed: int
    result: dict[str, Any]
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class PooledEffect:
    """A measured effect of ``unit``'s latest report."""

    unit: str
    project_code: str
    indicator: str
    estimate: float
    std_error: float


@dataclass(frozen=True)
class FeedbackRange:
    """The range feedback wrote for one project × indicator of a unit (``low``–``high``), the
    range it started from (``prior``) and how many cities' observations it pooled."""

    project_code: str
    framework_id: str
    indicator: str
    prior: tuple[float, float, float]
    posterior: tuple[float, float, float]
    evidence: int


def _report(row: OutcomeReportRecord) -> ReportRow:
    return ReportRow(
        id=row.id, unit=row.unit_code, framework_id=row.framework_id, as_of=row.as_of,
        confidence=row.confidence, seed=row.seed, result=dict(row.result),
        created_by=row.created_by, created_at=row.created_at,
    )  # fmt: skip


def save_report(
    session: Session,
    unit: str,
    settings: Mapping[str, Any],
    result: Mapping[str, Any],
    effects: Sequence[MeasuredEffect],
    actor: str,
) -> ReportRow:
    """Add a report of ``unit`` (a stored region) with its measured effects, audited.

    ``settings`` holds ``framework_id``, ``as_of``, ``confidence`` and ``seed``.
    """
    if session.get(Region, unit) is None:
        raise InputError("store.unknown_region", value=unit)
    now = utc_now()
    row = OutcomeReportRecord(
        unit_code=unit, framework_id=settings["framework_id"], as_of=settings["as_of"],
        confidence=settings["confidence"], seed=settings["seed"],
        result=json_safe(dict(result)), created_by=actor, created_at=now,
    )  # fmt: skip
    session.add(row)
    session.flush()
    if effects:
        session.execute(insert(OutcomeEffect), [
            {"report_id": row.id, "project_code": e.project_code, "indicator": e.indicator,
             "estimate": e.estimate, "std_error": e.std_error, "verdict": e.verdict}
            for e in effects
        ])  # fmt: skip
    verdicts: dict[str, int] = defaultdict(int)
    for e in effects:
        verdicts[e.verdict] += 1
    after = {"unit": unit, "framework": row.framework_id, "as_of": row.as_of.isoformat(),
             "confidence": row.confidence, "seed": row.seed, "effects": len(effects),
             "verdicts": dict(verdicts)}  # fmt: skip
    record_audit(session, actor, "create", REPORT_ENTITY, str(row.id), after=after, at=now)
    return _report(row)


def latest_effects(session: Session, framework_id: str) -> list[PooledEffect]:
    """The measured effects of every unit's newest report on ``framework_id``, one query."""
    newest = (
        select(func.max(OutcomeReportRecord.id).label("id"))
        .where(OutcomeReportRecord.framework_id == framework_id)
        .group_by(OutcomeReportRecord.unit_code)
        .subquery()
    )
    query = (
        select(
            OutcomeReportRecord.unit_code,
            OutcomeEffect.project_code,
            OutcomeEffect.indicator,
            OutcomeEffect.estimate,
            OutcomeEffect.std_error,
        )
        .join(OutcomeEffect, OutcomeEffect.report_id == OutcomeReportRecord.id)
        .where(OutcomeReportRecord.id.in_(select(newest.c.id)))
        .order_by(
            OutcomeEffect.project_code, OutcomeEffect.indicator, OutcomeReportRecord.unit_code
        )
    )
    return [PooledEffect(*row) for row in session.execute(query)]


def units_tracking(session: Session, codes: Collection[str]) -> dict[str, set[str]]:
    """For each catalogue code, the units that track a project of that code (any status)."""
    found: dict[str, set[str]] = {c: set() for c in codes}
    if codes:
        query = select(TrackedProjectRecord.code, TrackedProjectRecord.unit_code).where(
            TrackedProjectRecord.code.in_(set(codes))
        )
        for code, unit in session.execute(query):
            found[code].add(unit)
    return found


def read_feedback(session: Session, unit: str) -> dict[tuple[str, str], FeedbackRange]:
    """The ranges feedback wrote for ``unit``, by (project code, indicator)."""
    query = select(EffectFeedback).where(EffectFeedback.unit_code == unit)
    return {
        (r.project_code, r.indicator): FeedbackRange(
            r.project_code,
            r.framework_id,
            r.indicator,
            (r.prior_low, r.prior_likely, r.prior_high),
            (r.low, r.likely, r.high),
            r.evidence,
        )
        for r in session.scalars(query)
    }


def write_feedback(
    session: Session, unit: str, ranges: Sequence[FeedbackRange], actor: str
) -> None:
    """Insert or replace ``unit``'s feedback ranges, each audited with before and after."""
    if session.get(Region, unit) is None:
        raise InputError("store.unknown_region", value=unit)
    now = utc_now()
    stored = {
        (r.project_code, r.indicator): r
        for r in session.scalars(select(EffectFeedback).where(EffectFeedback.unit_code == unit))
    }
    for new in ranges:
        row = stored.get((new.project_code, new.indicator))
        before = None if row is None else {"range": [row.low, row.likely, row.high]}
        if row is None:
            row = EffectFeedback(unit_code=unit, project_code=new.project_code,
                                 indicator=new.indicator)  # fmt: skip
            session.add(row)
        row.framework_id = new.framework_id
        row.prior_low, row.prior_likely, row.prior_high = new.prior
        row.low, row.likely, row.high = new.posterior
        row.evidence, row.updated_by, row.updated_at = new.evidence, actor, now
        after = {"prior": list(new.prior), "range": list(new.posterior), "evidence": new.evidence}
        record_audit(session, actor, "feedback", FEEDBACK_ENTITY,
                     f"{unit}/{new.project_code}/{new.indicator}", before=before, after=after,
                     at=now)  # fmt: skip
    session.flush()


class Sessions(Protocol):
    """What the facade needs of ``Database``: a write session and a read session."""

    def session(self) -> AbstractContextManager[Session]: ...

    def reader(self) -> AbstractContextManager[Session]: ...


class OutcomeStore:
    """``db.outcomes``: outcome reports and feedback ranges, each call one transaction."""

    def __init__(self, db: Sessions) -> None:
        self._db = db

    def save(
        self,
        unit: str,
        settings: Mapping[str, Any],
        result: Mapping[str, Any],
        effects: Sequence[MeasuredEffect],
        *,
        actor: str,
    ) -> ReportRow:
        """Keep a report and its measured effects (audited); the stored row."""
        with self._db.session() as s:
            return save_report(s, unit, settings, result, effects, actor)

    def reports(self, unit: str) -> list[ReportRow]:
        """``unit``'s reports, newest first."""
        query = (
            select(OutcomeReportRecord)
            .where(OutcomeReportRecord.unit_code == unit)
            .order_by(OutcomeReportRecord.created_at.desc(), OutcomeReportRecord.id.desc())
        )
        with self._db.reader() as s:
            return [_report(r) for r in s.scalars(query)]

    def report(self, report_id: int) -> ReportRow | None:
        """One report; None when there is none with this id."""
        with self._db.reader() as s:
            row = s.get(OutcomeReportRecord, report_id)
            return None if row is None else _report(row)

    def latest_effects(self, framework_id: str) -> list[PooledEffect]:
        """Every unit's newest report's measured effects on ``framework_id``."""
        with self._db.reader() as s:
            return latest_effects(s, framework_id)

    def units_tracking(self, codes: Collection[str]) -> dict[str, set[str]]:
        """The units tracking each catalogue code, in any status."""
        with self._db.reader() as s:
            return units_tracking(s, codes)

    def feedback(self, unit: str) -> dict[tuple[str, str], FeedbackRange]:
        """The ranges feedback last wrote for ``unit``."""
        with self._db.reader() as s:
            return read_feedback(s, unit)

    def write_feedback(self, unit: str, ranges: Sequence[FeedbackRange], *, actor: str) -> None:
        """Keep feedback ranges (audited)."""
        with self._db.session() as s:
            write_feedback(s, unit, ranges, actor)
