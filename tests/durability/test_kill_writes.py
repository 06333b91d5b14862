"""kill -9 during writes, on SQLite and PostgreSQL: every acknowledged write is stored whole,
none is half-stored, the database passes its integrity check and the app starts and writes.

A few kill cycles per workload at random moments; benchmarks/crash_writes.py runs hundreds.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cityloop.store import Settings
from cityloop.web import create_app
from tests.durability.checks import integrity_problems
from tests.durability.crashes import (
    clean_run,
    current_values_disagree,
    forkserver,
    kill_cycle,
    open_database,
    verify,
)
from tests.durability.writer import WORKLOADS, Job, prepare
from tests.store.databases import BACKENDS, new_database_url

KILLS_PER_WORKLOAD = 2
MAX_DELAY_S = 1.5


@pytest.mark.parametrize("backend", BACKENDS)
def test_acknowledged_writes_survive_kill_9(backend: str, tmp_path: Path) -> None:
    seed = random.randrange(2**32)
    chance = random.Random(seed)
    context = forkserver()
    for url in new_database_url(backend, tmp_path):
        prepared = prepare(url)
        db = open_database(url)
        try:
            for workload in WORKLOADS:
                for cycle in range(KILLS_PER_WORKLOAD):
                    tag = f"{workload}{cycle}"
                    job = Job(url, workload, tmp_path / f"{tag}.acks", tag)
                    delay = chance.uniform(0.0, MAX_DELAY_S)
                    acks = kill_cycle(context, job, delay)
                    tally = verify(db, prepared, workload, acks, tag)
                    where = f"{workload}, kill {cycle} after {delay:.3f} s (seed {seed})"
                    assert tally.lost == [], f"acknowledged but lost: {where}"
                    assert tally.partial == [], f"stored in part: {where}"
            assert integrity_problems(db) == []
            assert current_values_disagree(db) == []

            # The database takes writes again: each writer runs to its end, then the app starts.
            for workload in WORKLOADS:
                tag = f"{workload}-after"
                job = Job(url, workload, tmp_path / f"{tag}.acks", tag, limit=2)
                acks = clean_run(context, job)
                assert verify(db, prepared, workload, acks, tag).lost == []
                assert len(acks) >= 2
            app = create_app(Settings(database_url=url, data_dir=tmp_path / "data"))
            with TestClient(app) as client:
                assert client.get(f"/s/{prepared.slug}").status_code == 200
            app.state.db.dispose()
        finally:
            db.dispose()
