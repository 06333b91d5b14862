"""Evaluation runs: what went in (framework version, config, data hash), who ran it, and the
scores, overall ranks and stages of every unit, year and node that came out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from cityloop.errors import InputError
from cityloop.evaluation.result import EvaluationResult
from cityloop.store.audit import json_safe, record_audit, utc_now
from cityloop.store.bulk import as_list, insert_rows
from cityloop.store.frameworks import register_framework
from cityloop.store.models import EvaluationRun, RunScore, RunStatus, table_of


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
