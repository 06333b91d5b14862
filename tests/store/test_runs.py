"""Evaluation runs: provenance, config and every score stored, tied to the framework version."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select

import cityloop
from cityloop.frameworks import Framework
from cityloop.store import Database
from cityloop.store.models import EvaluationRun, FrameworkVersion, RunScore
from cityloop.store.runs import run_scores
from tests.store.samples import Demo


def test_a_run_is_stored_with_its_scores(db: Database, mini: Framework, mini_demo: Demo) -> None:
    config = {"weights": {"method": "entropy"}, "normalisation": {"method": "goalposts"}}
    result = cityloop.evaluate(mini_demo.values, mini, config=config, units=mini_demo.units)
    run_id = db.record_run(result, "carol")
    with db.reader() as s:
        run = s.get_one(EvaluationRun, run_id)
        version = s.get_one(FrameworkVersion, run.framework_version_id)
        scores = s.execute(
            select(RunScore.unit, RunScore.year, RunScore.node, RunScore.score, RunScore.rank)
            .where(RunScore.run_id == run_id)
            .order_by(RunScore.unit, RunScore.year, RunScore.node)
        ).all()
    assert (run.status, run.created_by, run.data_hash) == (
        "completed",
        "carol",
        result.provenance["data_hash"],
    )
    assert run.config == result.config.as_dict()
    assert run.provenance["framework_hash"] == version.content_hash
    expected = run_scores(result).sort_values(["unit", "year", "node"], key=lambda c: c.astype(str))
    assert len(scores) == len(expected)
    stored = pd.DataFrame(scores, columns=["unit", "year", "node", "score", "rank"])
    total = stored[stored["node"] == "TOTAL"].set_index(["unit", "year"])
    summary = result.summary(2025).set_index("unit")
    for unit, row in summary.iterrows():
        assert total.loc[(unit, 2025), "score"] == row["score"]
        assert total.loc[(unit, 2025), "rank"] == row["rank"]
    assert db.record_run(result, "carol") == run_id + 1  # every run is kept
