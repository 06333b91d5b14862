"""Indicator values: current values plus history and audit in one transaction; all or nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

import cityloop
from cityloop.datahub.indicator_table import read_values, validate_values
from cityloop.errors import DataValidationError
from cityloop.frameworks import Framework
from cityloop.store import Database, Origin, OriginKind, values
from cityloop.store.models import AuditEntry, IndicatorValue, ValueHistory
from tests.store.samples import Demo

FILE = Origin(OriginKind.FILE, "数据局填报表.xlsx")


@pytest.fixture
def loaded(db: Database, mini_demo: Demo) -> Database:
    db.load_units(mini_demo.units, "alice")
    return db


def test_first_upload_writes_values_history_and_one_audit_row(
    loaded: Database, mini: Framework, mini_demo: Demo
) -> None:
    n = len(mini_demo.values.frame)
    counts = loaded.upsert_values(mini_demo.values, mini, "alice", FILE)
    assert (counts.inserted, counts.updated, counts.unchanged) == (n, 0, 0)
    rows = loaded.row_counts()
    assert rows["indicator_values"] == rows["value_history"] == n
    with loaded.reader() as s:
        first = s.scalars(select(ValueHistory).order_by(ValueHistory.id).limit(1)).one()
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "upsert")).one()
    assert first.previous_value is None
    assert (first.entered_by, first.origin_kind, first.origin_ref) == ("alice", "file", FILE.ref)
    assert first.entered_at.tzinfo is not None
    assert audit.entity_id == "mini"
    assert audit.after is not None
    assert audit.after["inserted"] == n
    assert audit.after["origin_ref"] == FILE.ref


def test_a_changed_value_keeps_the_previous_one(
    loaded: Database, mini: Framework, mini_demo: Demo
) -> None:
    loaded.upsert_values(mini_demo.values, mini, "alice", FILE)
    frame = mini_demo.frame.copy()
    cell = (frame["unit"] == "110100") & (frame["year"] == 2025) & (frame["indicator"] == "I1")
    old = float(frame.loc[cell, "value"].iloc[0])
    frame.loc[cell, "value"] = 99.5
    frame.loc[frame["indicator"] == "I2", "note"] = "核实"  # a changed note is a change too
    table = validate_values(frame, mini, mini_demo.units)
    counts = loaded.upsert_values(table, mini, "bob", Origin(OriginKind.FORM, "form 17"))
    n_notes = int((table.frame["indicator"] == "I2").sum())
    assert counts.updated == 1 + n_notes
    assert counts.unchanged == len(table.frame) - counts.updated
    with loaded.reader() as s:
        key = (IndicatorValue.region_code == "110100", IndicatorValue.year == 2025)
        current = s.scalars(
            select(IndicatorValue).where(*key, IndicatorValue.indicator == "I1")
        ).one()
        history = s.scalars(
            select(ValueHistory)
            .where(
                ValueHistory.region_code == "110100",
                ValueHistory.year == 2025,
                ValueHistory.indicator == "I1",
            )
            .order_by(ValueHistory.id)
        ).all()
    assert (current.value, current.entered_by, current.origin_kind) == (99.5, "bob", "form")
    assert [(h.previous_value, h.value) for h in history] == [(None, old), (old, 99.5)]
    assert loaded.row_counts()["value_history"] == len(table.frame) + counts.updated


def test_values_frame_is_what_the_evaluation_reads(
    loaded: Database, mini: Framework, mini_demo: Demo
) -> None:
    loaded.upsert_values(mini_demo.values, mini, "alice", FILE)
    stored = loaded.values_frame("mini")
    pd.testing.assert_frame_equal(stored, mini_demo.values.frame)
    assert loaded.values_frame("mini", years=[2025])["year"].unique().tolist() == [2025]
    from_db = cityloop.evaluate(stored, mini, units=loaded.units())
    direct = cityloop.evaluate(mini_demo.values, mini, units=mini_demo.units)
    assert from_db.provenance["data_hash"] == direct.provenance["data_hash"]
    np.testing.assert_array_equal(from_db.scores, direct.scores)


def test_a_file_with_one_bad_cell_writes_nothing(
    loaded: Database, mini: Framework, mini_demo: Demo, tmp_path: Path
) -> None:
    loaded.upsert_values(mini_demo.values, mini, "alice", FILE)
    before = loaded.row_counts()
    frame = mini_demo.frame.copy()
    frame["value"] = frame["value"].astype(object)
    frame.loc[5, "value"] = "无"
    path = tmp_path / "values.csv"
    frame.to_csv(path, index=False)

    def upload() -> None:  # what the upload page does: validate against the stored units, write
        table = read_values(path, mini, loaded.units())
        loaded.upsert_values(table, mini, "alice", Origin(OriginKind.FILE, path.name))

    with pytest.raises(DataValidationError) as err:
        upload()
    assert "第 7 行" in err.value.render("zh-CN")
    assert loaded.row_counts() == before


def test_unknown_regions_are_refused_before_anything_is_written(
    db: Database, mini: Framework, mini_demo: Demo
) -> None:
    with pytest.raises(DataValidationError) as err:
        db.upsert_values(mini_demo.values, mini, "alice", FILE)
    assert {p.key for p in err.value.problems} == {"store.unknown_region"}
    assert set(db.row_counts().values()) == {0}


def test_a_failure_midway_rolls_the_whole_upload_back(
    loaded: Database, mini: Framework, mini_demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = loaded.row_counts()
    real = values.insert_rows

    def fail_on_history(target: Any, table: Any, *args: Any, **kwargs: Any) -> int:
        if table.name == "value_history":
            raise RuntimeError("disk full")
        return real(target, table, *args, **kwargs)

    monkeypatch.setattr(values, "insert_rows", fail_on_history)
    with pytest.raises(RuntimeError, match="disk full"):
        loaded.upsert_values(mini_demo.values, mini, "alice", FILE)
    assert loaded.row_counts() == before


def test_two_uploads_at_once_take_turns(loaded: Database, mini: Framework, mini_demo: Demo) -> None:
    frame = mini_demo.frame.copy()
    frame["note"] = "复核后"  # a changed note changes every cell
    tables = [mini_demo.values, validate_values(frame, mini, mini_demo.units)]
    with ThreadPoolExecutor(2) as pool:
        done = list(pool.map(lambda t: loaded.upsert_values(t, mini, "alice", FILE), tables))
    n = len(mini_demo.values.frame)
    # Whichever went first inserted every cell; the other then changed every one of them.
    assert sorted((c.inserted, c.updated) for c in done) == [(0, n), (n, 0)]
    assert loaded.row_counts()["value_history"] == 2 * n
