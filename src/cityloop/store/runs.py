"""Evaluation runs: what went in (framework version, config, data hash), who ran it, and the
scores, overall ranks and stages of every unit, year and node that came out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from cityloop.errors import InputError
from cityloop.evaluation.result import EvaluationResult
from cityloop.store.audit import json_safe, record_audit, utc_now
from cityloop.store.bulk import as_list, insert_rows
from cityloop.store.frameworks import register_framework
from cityloop.store.models import (
    EvaluationRun,
    FrameworkRecord,
    FrameworkVersion,
    IndicatorValue,
    RunScore,
    RunStatus,
    table_of,
)

SCORE_COLUMNS = ("unit", "year", "node", "level", "score", "change", "rank", "ranked", "stage")


@dataclass(frozen=True)
class RunRow:
    """What a stored run is: its framework version, config, who ran it and when."""

    id: int
    framework_id: str
    framework_version: str
    config: dict[str, Any]
    data_hash: str
    warnings: list[str]
    created_by: str
    created_at: datetime


def record_run(session: Session, result: EvaluationResult, actor: str) -> int:
    """Store a finished evaluation and its scores table; return the run's id."""
    provenance = result.provenance
    version = register_framework(session, result.framework, actor)
    if version.content_hash != provenance["framework_hash"]:
        raise InputError(
            "store.framework_conflict",
            framework=result.framework.id,
            version=result.framework.version,
        )
    run = EvaluationRun(
        framework_version_id=version.id,
        config=json_safe(result.config.as_dict()),
        data_hash=provenance["data_hash"],
        provenance=json_safe(provenance),
        warnings=list(result.warnings),
        status=RunStatus.COMPLETED,
        created_by=actor,
        created_at=utc_now(),
    )
    session.add(run)
    session.flush()
    scores = run_scores(result)
    rows = insert_rows(
        session,
        table_of(RunScore),
        {
            "unit": scores["unit"].astype(str).tolist(),
            "year": scores["year"].astype(int).tolist(),
            "node": scores["node"].astype(str).tolist(),
            "level": scores["level"].astype(int).tolist(),
            "score": as_list(scores["score"]),
            "change": as_list(scores["change"]),
            "rank": as_list(scores["rank"]),
            "ranked": as_list(scores["of"]),
            "stage": scores["stage"].astype(str).tolist(),
        },
        {"run_id": run.id},
    )
    record_audit(
        session,
        actor,
        "record",
        "evaluation_runs",
        str(run.id),
        after={
            "framework": result.framework.id,
            "version": result.framework.version,
            "data_hash": run.data_hash,
            "config": run.config,  # the method and weights (AHP judgments too) it used
            "scores": rows,
        },
        at=run.created_at,
    )
    return run.id


def run_scores(result: EvaluationResult) -> pd.DataFrame:
    """Every node's score and change, with the overall rank and the stage where there is one."""
    ranks = result.ranks_table
    overall = ranks[ranks["scope_kind"].to_numpy() == "all"][["unit", "year", "node", "rank", "of"]]
    stages = result.stages_table[["unit", "year", "node", "stage"]]
    keys = ["unit", "year", "node"]
    out = result.scores_table.merge(overall, on=keys, how="left").merge(stages, on=keys, how="left")
    out["score"] = out["score"].where(np.isfinite(out["score"]))
    out["stage"] = out["stage"].fillna("")
    return out.astype({"rank": "Int64", "of": "Int64"})


def _run_query() -> Any:
    return select(
        EvaluationRun.id,
        FrameworkVersion.framework_id,
        FrameworkVersion.version,
        EvaluationRun.config,
        EvaluationRun.data_hash,
        EvaluationRun.warnings,
        EvaluationRun.created_by,
        EvaluationRun.created_at,
    ).join(FrameworkVersion, FrameworkVersion.id == EvaluationRun.framework_version_id)


def list_runs(session: Session, framework_id: str | None = None) -> list[RunRow]:
    """Stored runs, newest first; only ``framework_id``'s when given."""
    query = _run_query().order_by(EvaluationRun.id.desc())
    if framework_id is not None:
        query = query.where(FrameworkVersion.framework_id == framework_id)
    return [RunRow(*row) for row in session.execute(query).all()]


def get_run(session: Session, run_id: int) -> RunRow | None:
    """One stored run; None when there is no such run."""
    row = session.execute(_run_query().where(EvaluationRun.id == run_id)).first()
    return None if row is None else RunRow(*row)


def read_run_scores(
    session: Session, run_id: int, *, units: list[str] | None = None, max_level: int | None = None
) -> pd.DataFrame:
    """A run's scores as a long table (the columns of ``SCORE_COLUMNS``).

    ``units`` limits it to those units, ``max_level`` to nodes at that depth or above (1 =
    dimensions; the total is level 0); both filters run in SQL.
    """
    s = RunScore
    query = select(*(getattr(s, c) for c in SCORE_COLUMNS)).where(s.run_id == run_id)
    if units is not None:
        query = query.where(s.unit.in_(units))
    if max_level is not None:
        query = query.where(s.level <= max_level)
    frame = pd.DataFrame(session.execute(query).all(), columns=list(SCORE_COLUMNS))
    return frame.astype(
        {
            "unit": "string",
            "year": "int64",
            "node": "string",
            "level": "int64",
            "score": "float64",
            "change": "float64",
            "rank": "Int64",
            "ranked": "Int64",
            "stage": "string",
        }
    )


def frameworks_with_values(session: Session) -> list[tuple[str, str, str]]:
    """(id, Chinese title, English title) of every framework that has stored values, by id:
    the frameworks a run can evaluate."""
    has_values = exists().where(IndicatorValue.framework_id == FrameworkRecord.id)
    query = (
        select(FrameworkRecord.id, FrameworkRecord.title_zh, FrameworkRecord.title_en)
        .where(has_values)
        .order_by(FrameworkRecord.id)
    )
    return [(str(i), str(zh), str(en)) for i, zh, en in session.execute(query).all()]
