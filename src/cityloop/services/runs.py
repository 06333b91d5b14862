"""Evaluation runs on the stored data: evaluate what the database holds and keep the result.

The web app and the CLI both start a run here; the run's scores are then read from the store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cityloop.evaluation.config import EvaluationConfig
from cityloop.evaluation.result import EvaluationResult
from cityloop.services.evaluation import DEFAULT_FRAMEWORK, evaluate
from cityloop.store import Database


def evaluate_stored(
    db: Database,
    framework_id: str = DEFAULT_FRAMEWORK,
    config: EvaluationConfig | Mapping[str, Any] | None = None,
    *,
    actor: str,
    years: Sequence[int] | None = None,
) -> tuple[int, EvaluationResult]:
    """Evaluate the stored values of ``framework_id`` (its latest stored version) with the
    stored regions and clusters; record the run; return its id and the result."""
    fw = db.framework(framework_id)
    result = evaluate(db.values_frame(framework_id, years), fw, config, db.units())
    return db.record_run(result, actor), result
