"""``db.quality`` on both backends: each SQL aggregate equals the same sum computed with pandas
on the raw rows of a random catalogue (table rows, observations, probes, access log)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from cityloop.services.data_quality import quality_policy
from cityloop.store import Database
from cityloop.store.models import AccessEntry, Observation, ResourceCheck, ResourceRow
from cityloop.store.quality import NewCheck, Window
from tests.store.databases import backend, db, db_url, empty_db
from tests.store.quality_rows import (
    NOW,
    add,
    add_entities,
    add_resources,
    ensure_unit,
    resource,
    seed_catalogue,
)

__all__ = ["backend", "db", "db_url", "empty_db"]

UNIT, OTHER = "990100", "990200"
FIELDS = ["a", "b", "c"]
FREQUENCIES = ["realtime", "daily", "weekly", "irregular"]


@pytest.fixture
def random_catalogue(db: Database) -> dict[str, pd.DataFrame]:
    """Random rows in two units; returns the raw rows of ``UNIT`` as frames."""
    rng = np.random.default_rng(11)
    ensure_unit(db, UNIT, ["transport", "health"])
    ensure_unit(db, OTHER, ["transport"])
    tables = add_resources(db, UNIT, [
        resource(f"T{k}", "transport", fields=[{"name": f} for f in FIELDS[: k % 3 + 1]])
        for k in range(6)
    ])  # fmt: skip
    sensors = add_resources(db, UNIT, [
        resource(f"S{k}", "health", entity_type=f"Type{k % 2}", update_frequency=FREQUENCIES[k])
        for k in range(4)
    ])  # fmt: skip
    (elsewhere,) = add_resources(db, OTHER, [resource("X", "transport", entity_type="Type0")])
    values = ["x", "", None, 3, "  "]
    rows = [
        {"resource_id": rid, "row_no": n,
         "data": {f: values[rng.integers(len(values))] for f in [*FIELDS, "extra"]
                  if rng.random() < 0.8}}
        for rid in [*tables[:5], elsewhere] for n in range(int(rng.integers(0, 8)))
    ]  # fmt: skip
    add(db, ResourceRow, rows)
    entities = add_entities(db, UNIT, [
        {"entity_id": f"urn:e:{k}", "entity_type": f"Type{k % 2}",
         "resource_id": sensors[k % 4] if k < 6 else None}
        for k in range(8)
    ])  # fmt: skip
    start = int((NOW - timedelta(days=30)).timestamp())
    moments = rng.integers(start - 86400, int(NOW.timestamp()) + 86400, size=(len(entities), 60))
    observations = [
        {"entity_key": e, "attribute": attribute, "observed_at": int(m), "value": 1.0, "text": None}
        for e, row in zip(entities, moments, strict=True)
        for m in sorted(set(row.tolist()))
        for attribute in ("a", "b")
    ]  # fmt: skip
    add(db, Observation, observations)
    probes = [
        {"resource_id": int(rid), "at": NOW - timedelta(hours=float(h)), "ok": bool(h % 3),
         "latency_ms": float(h), "detail": f"d{h}"}
        for rid in [*tables[:3], elsewhere] for h in rng.integers(1, 40 * 24, size=20)
    ]  # fmt: skip
    add(db, ResourceCheck, probes)
    log = [
        {"at": NOW - timedelta(hours=float(h)), "resource_id": int(rid), "operation": "read",
         "status": int(s), "rows": 1}
        for rid in [*tables, elsewhere]
        for h, s in zip(
            rng.integers(1, 40 * 24, 10), rng.choice([200, 404, 500, 503], 10), strict=True
        )
    ]  # fmt: skip
    add(db, AccessEntry, log)
    frame = pd.DataFrame
    return {
        "tables": frame({"id": tables, "declared": [k % 3 + 1 for k in range(6)]}),
        "rows": frame(rows), "entities": frame({"key": entities}),
        "observations": frame(observations),
        "probes": frame(probes), "log": frame(log), "sensors": frame({"id": sensors}),
    }  # fmt: skip


def window() -> Window:
    return Window(UNIT, NOW - timedelta(days=30), NOW)


def test_table_cells_equal_pandas(db: Database, random_catalogue: dict[str, pd.DataFrame]) -> None:
    raw = random_catalogue
    rows = raw["rows"][raw["rows"]["resource_id"].isin(raw["tables"]["id"])]
    declared = dict(zip(raw["tables"]["id"], raw["tables"]["declared"], strict=True))

    def filled(row: pd.Series) -> int:
        names = FIELDS[: declared[row["resource_id"]]]
        return sum(
            str(row["data"].get(f) or "").strip() != "" or row["data"].get(f) == 0 for f in names
        )

    expected = pd.DataFrame({
        "declared": raw["tables"].set_index("id")["declared"],
        "rows": rows.groupby("resource_id").size(),
        "filled": rows.assign(n=rows.apply(filled, axis=1)).groupby("resource_id")["n"].sum(),
    }).fillna(0).astype(int)  # fmt: skip
    got = db.quality.table_cells(window())
    pd.testing.assert_frame_equal(got.sort_index(), expected.sort_index(), check_names=False)


def test_sensor_readings_equal_pandas(
    db: Database, random_catalogue: dict[str, pd.DataFrame]
) -> None:
    raw, periods = random_catalogue, quality_policy().period_seconds()
    got = db.quality.sensor_readings(window(), periods)
    start, end = window().seconds
    obs = raw["observations"]
    obs = obs[(obs["observed_at"] >= start) & (obs["observed_at"] < end)]
    sensors = raw["sensors"]["id"].tolist()
    for k, entity in enumerate(raw["entities"]["key"]):
        resource_id = sensors[k % 4] if k < 6 else None
        owners = (
            [resource_id] if resource_id else [s for j, s in enumerate(sensors) if j % 2 == k % 2]
        )
        mine = obs[obs["entity_key"] == entity]["observed_at"]
        for owner in owners:
            frequency = FREQUENCIES[sensors.index(owner)]
            size = periods.get(frequency, end - start)
            row = got[(got["entity_key"] == entity) & (got["resource_id"] == owner)]
            assert len(row) == 1
            assert row["periods"].iloc[0] == ((mine - start) // size).nunique()
            assert row["last_observed"].iloc[0] == (mine.max() if len(mine) else np.nan) or (
                np.isnan(row["last_observed"].iloc[0]) and mine.empty
            )
    assert len(got) == 6 + 2 * 2  # unlinked entities belong to both resources of their type


def test_checks_and_access_equal_pandas(
    db: Database, random_catalogue: dict[str, pd.DataFrame]
) -> None:
    raw, w = random_catalogue, window()
    probes = raw["probes"][(raw["probes"]["at"] >= w.start) & (raw["probes"]["at"] < w.end)]
    probes = probes[probes["resource_id"].isin(raw["tables"]["id"])]
    got = db.quality.checks(w)
    by = probes.groupby("resource_id")
    assert got["probes"].to_dict() == by.size().to_dict()
    assert got["ok_probes"].to_dict() == by["ok"].sum().to_dict()
    assert got["latency_ms"].to_numpy() == pytest.approx(by["latency_ms"].mean().to_numpy())
    latest = probes.sort_values("at").groupby("resource_id").last()
    assert got["last_ok"].astype(bool).to_dict() == latest["ok"].to_dict()
    log = raw["log"][(raw["log"]["at"] >= w.start) & (raw["log"]["at"] < w.end)]
    log = log[log["resource_id"].isin(raw["tables"]["id"])]
    access = db.quality.access(w)
    assert access["requests"].to_dict() == log.groupby("resource_id").size().to_dict()
    served = log.assign(ok=log["status"] < 500).groupby("resource_id")["ok"].sum()
    assert access["served"].to_dict() == served.to_dict()


def test_resources_requests_endpoints_and_recorded_checks(db: Database) -> None:
    seeded = seed_catalogue(db, UNIT)
    frame = db.quality.resources(window())
    assert frame.index.tolist() == [seeded.table, seeded.sensor, seeded.health]
    assert frame.loc[seeded.table, "department"] == "transport"
    requests = db.quality.sharing_requests(window())
    assert sorted(requests["status"]) == ["approved", "pending", "refused", "withdrawn"]
    assert db.quality.units_with_resources() == [UNIT]
    assert db.quality.endpoints(UNIT) == [(seeded.table, "http://127.0.0.1:9/t1")]
    before = db.quality.check_count(UNIT)
    written = db.quality.record_checks([NewCheck(seeded.table, NOW, False, None, "x" * 400)])
    assert written == 1 and db.quality.check_count(UNIT) == before + 1
    assert (
        db.quality.checks(Window(UNIT, NOW, NOW + timedelta(seconds=1)))["last_detail"].iloc[0]
        == "x" * 300
    )
