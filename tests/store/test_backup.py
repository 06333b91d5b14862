"""Backup and restore: lossless on both backends and across them; damaged files change nothing."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import insert

import cityloop
from cityloop.collection import deadline_moment
from cityloop.datahub.indicator_table import validate_values
from cityloop.errors import CityLoopError, InputError
from cityloop.frameworks import Framework, load_framework
from cityloop.services.store import backup, restore
from cityloop.store import Database, Origin, OriginKind, Settings, migrate
from cityloop.store.audit import utc_now
from cityloop.store.backup import MANIFEST, Manifest, read_backup
from cityloop.store.keys import issue_key
from cityloop.store.models import (
    AccessEntry,
    DataResource,
    Department,
    KeyScope,
    Observation,
    Plan,
    PlanProject,
    ResourceCheck,
    ResourceRow,
    SensorEntity,
    SharingRequest,
    User,
)
from cityloop.store.outcomes import FeedbackRange, MeasuredEffect
from cityloop.store.surveys import NewResponse
from cityloop.store.tracking import NewTrackedProject, Payment, ProgressChange
from cityloop.supervision import BudgetYear, GateKind, Milestone, QualityGate, Risk, RiskLevel
from tests.store.databases import new_database_url
from tests.store.samples import Demo


def fill(db: Database, mini: Framework, demo: Demo) -> None:
    """Rows in every table, with text and numbers that are easy to lose on the way."""
    db.load_units(demo.units, "alice")
    frame = demo.frame.copy()
    frame.loc[0, "note"] = 'line one\nline "two" — 第二行 ✓'
    frame.loc[1, "value"] = 0.1 + 0.2
    frame.loc[2, "source"] = "统计局 \\ 年报 {2025} 100%"
    table = validate_values(frame, mini, demo.units)
    db.upsert_values(table, mini, "alice", Origin(OriginKind.FILE, "数据.xlsx"))
    db.upsert_values(demo.values, mini, "bob", Origin(OriginKind.API, "req-1"))  # history grows
    db.record_run(cityloop.evaluate(demo.values, mini, units=demo.units), "carol")
    with db.session() as s:  # a user, written as the accounts code will
        s.add(
            User(
                username="dora",
                password_hash="$argon2id$v=19$x",
                role="viewer",
                region_code="110100",
                created_at=utc_now(),
            )
        )
        s.add(Department(code="local_office", name_zh="本地办公室", name_en=""))
    due = deadline_moment(date(2026, 6, 30))
    round_id = db.open_round("mini", 2026, due, note="第一轮", actor="alice").id
    db.add_reminder(round_id, "data_bureau", "110100", message="请报送", actor="bob")
    db.surveys.save_questionnaire("mine", "1", "id: mine\ntitle: {zh: 问卷}\n", actor="alice")
    survey = db.surveys.create(
        unit="110100", questionnaire_id="mine", questionnaire_version="1",
        questionnaire_yaml="id: mine\n", year=2026, districts=[{"code": "d1", "name_zh": "东城"}],
        margins={"age": {"18-29": 120.5}}, actor="alice",
    )  # fmt: skip
    answers = {"q1": 4.0, "q2": ["a", "b"], "q3": '"引号" \\ <b>', "q4": None, "q5": 0.1 + 0.2}
    db.surveys.add_responses(
        survey.id,
        [
            NewResponse("r1", {"district": "d1"}, answers, device_hash="h1"),
            NewResponse("r2", {}, {"q1": 2}, source="import:答卷.xlsx"),
        ],
    )
    fill_hub(db, demo)
    fill_plans(db)
    fill_supervision(db)
    fill_outcomes(db)


def fill_hub(db: Database, demo: Demo) -> None:
    """The data hub's tables: a resource with rows, a request, a key, log, probes, a sensor."""
    now = utc_now()
    resource = {
        "unit_code": "110100", "code": "A0101-000001", "department_code": "data_bureau",
        "name_zh": "空气质量监测 “站点”", "name_en": "Air quality", "description": "每小时\n更新",
        "classification": "theme", "fields": [{"name": "pm25", "type": "number"}],
        "update_frequency": "realtime", "format": "api", "sharing_type": "conditional",
        "sharing_condition": "仅用于环境监管", "sharing_method": "api", "not_shared_reason": "",
        "open_type": "closed", "open_condition": "", "licence": "", "keywords": ["空气", "PM2.5"],
        "entity_type": "AirQualityObserved", "api_url": "http://127.0.0.1:9/x?a=1&b=二",
        "status": "published", "created_by": "alice", "created_at": now, "updated_at": now,
        "data_updated_at": now,
    }  # fmt: skip
    with db.session() as s:
        resource_id = s.scalars(insert(DataResource).returning(DataResource.id), [resource]).one()
        s.execute(insert(ResourceRow), [
            {"resource_id": resource_id, "row_no": 1, "data": {"pm25": 0.1 + 0.2, "站": "东城"}},
            {"resource_id": resource_id, "row_no": 2, "data": {"pm25": None, "站": "=1+1"}},
        ])  # fmt: skip
        request_id = s.scalars(
            insert(SharingRequest).returning(SharingRequest.id),
            [{"resource_id": resource_id, "requester_department": "local_office",
              "purpose": "联合执法 \"需要\"", "requested_by": "bob", "requested_at": now,
              "status": "approved", "decided_by": "alice", "decided_at": now,
              "decision_reason": "同意"}],
        ).one()  # fmt: skip
        key = issue_key(s, resource_id=resource_id, department="local_office",
                        scope=KeyScope.READ, actor="alice", request_id=request_id)  # fmt: skip
        s.execute(insert(AccessEntry), [
            {"at": now, "resource_id": resource_id, "key_id": key.key_id,
             "department_code": "local_office", "actor": "", "operation": "datastore_search",
             "status": 200, "rows": 2, "client": "127.0.0.1"},
        ])  # fmt: skip
        s.execute(insert(ResourceCheck), [
            {"resource_id": resource_id, "at": now, "ok": False, "latency_ms": 5000.25,
             "detail": "timed out 超时"},
        ])  # fmt: skip
        entity_key = s.scalars(
            insert(SensorEntity).returning(SensorEntity.key),
            [{"unit_code": "110100", "entity_id": "urn:ngsi-ld:AirQualityObserved:站-1",
              "entity_type": "AirQualityObserved", "resource_id": resource_id,
              "longitude": 116.397128, "latitude": 39.916527,
              "latest": {"pm25": 35.5, "address": {"streetAddress": "长安街"}},
              "created_at": now, "updated_at": now}],
        ).one()  # fmt: skip
        s.execute(insert(Observation), [
            {"entity_key": entity_key, "attribute": "pm25", "observed_at": 1_767_225_600,
             "value": 0.1 + 0.2, "text": None},
            {"entity_key": entity_key, "attribute": "status", "observed_at": 4_102_444_800,
             "value": None, "text": "working 正常"},
        ])  # fmt: skip


def fill_plans(db: Database) -> None:
    """Planning's tables: a unit's override of a catalogue project and a saved plan."""
    now = utc_now()
    with db.session() as s:
        s.execute(insert(PlanProject), [
            {"unit_code": "110100", "code": "city_brain", "updated_by": "alice", "updated_at": now,
             "fields": {"cost": [1200.5, 0.1 + 0.2], "name_zh": "城市大脑 “一期”"}},
        ])  # fmt: skip
        s.execute(insert(Plan), [
            {"unit_code": "110100", "name": "2027—2029 规划", "framework_id": "mini",
             "first_year": 2027, "created_by": "alice", "created_at": now,
             "settings": {"budget": [1000, 2000.25], "mandatory": ["city_brain"]},
             "result": {"status": "optimal", "gap": 0.0, "scheduled": [["city_brain", 0, 1]]}},
        ])  # fmt: skip


def fill_supervision(db: Database) -> None:
    """Supervision's tables: a tracked project of the saved plan with a report, a payment and
    its correction, a gate passed and a risk."""
    (plan_id,) = [p.id for p in db.plans.list()]
    project = NewTrackedProject(
        code="city_brain", name_zh="城市大脑 “一期”", name_en="City brain", domain="data",
        phase="启动实施", owner_department="local_office", start_date=date(2027, 1, 1),
        plan_id=plan_id, plan_types=("infrastructure",), indicators=("I1",), needs=("a1",),
        budget=(BudgetYear(2027, 1200.5), BudgetYear(2028, 0.1 + 0.2)),
        milestones=(Milestone("第1年建设完成", date(2027, 12, 31), 1200.5),
                    Milestone("第2年建设完成", date(2028, 12, 31), 0.1 + 0.2)),
        gates=(QualityGate(GateKind.DESIGN_REVIEW, date(2027, 3, 1)),
               QualityGate(GateKind.TRIAL_OPERATION, date(2029, 1, 31))),
    )  # fmt: skip
    assert db.tracking.create("110100", [project], actor="alice") == ["city_brain"]
    db.tracking.record("110100", "city_brain", ProgressChange(
        date(2027, 3, 15), milestones={1: (12.5, None)},
        gates={GateKind.DESIGN_REVIEW: (date(2027, 3, 10), False)},
        payments=[Payment(date(2027, 3, 1), 300.25, note="预付款 “首期”")],
        risks=[Risk("供应商 \\ 延期", RiskLevel.HIGH)], note="第一次\n报告",
    ), actor="bob")  # fmt: skip
    (paid,) = db.tracking.payments("110100", "city_brain")
    db.tracking.record("110100", "city_brain", ProgressChange(
        date(2027, 3, 20), payments=[Payment(date(2027, 3, 20), -0.25, corrects=paid.id)],
    ), actor="bob")  # fmt: skip


def fill_outcomes(db: Database) -> None:
    """Outcome assessment's tables: a report with a measured effect and a feedback range."""
    settings = {"framework_id": "mini", "as_of": date(2027, 6, 30), "confidence": 0.9, "seed": 7}
    result = {
        "projects": [{"code": "city_brain", "verdict": "no_effect", "spend": 0.1 + 0.2}],
        "skipped": [{"code": "x", "message": "交付后年份不足 “2027”", "params": {}}],
    }
    effect = MeasuredEffect("city_brain", "I1", -0.25, 0.1 + 0.2, "no_effect")
    db.outcomes.save("110100", settings, result, [effect], actor="alice")
    feedback = FeedbackRange("city_brain", "mini", "I1", (1.0, 2.5, 4.0), (0.0, 0.1 + 0.2, 1.5), 3)
    db.outcomes.write_feedback("110100", [feedback], actor="alice")


@pytest.fixture
def filled(db: Database, mini: Framework, mini_demo: Demo) -> Database:
    fill(db, mini, mini_demo)
    return db


@pytest.fixture(scope="module")
def good_backup(mini: Framework, mini_demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A backup of a filled SQLite database, made once for the tests that damage copies of it."""
    folder = tmp_path_factory.mktemp("good")
    source = Database.open(Settings(database_url=f"sqlite:///{folder / 'source.db'}"))
    source.upgrade()
    fill(source, mini, mini_demo)
    backup(source, folder / "a.zip")
    source.dispose()
    return folder / "a.zip"


@pytest.fixture
def other_empty(backend: str, tmp_path: Path) -> Iterator[Database]:
    """A second fresh database on the same backend."""
    folder = tmp_path / "other"
    folder.mkdir()
    for url in new_database_url(backend, folder):
        target = Database.open(Settings(database_url=url))
        yield target
        target.dispose()


def digests(manifest: Manifest) -> dict[str, tuple[int, str]]:
    return {t.name: (t.rows, t.sha256) for t in manifest.tables}


def test_round_trip_is_lossless(filled: Database, other_empty: Database, tmp_path: Path) -> None:
    first = backup(filled, tmp_path / "a.zip")
    assert all(t.rows > 0 for t in first.tables), [t.name for t in first.tables if not t.rows]
    restored = restore(other_empty, tmp_path / "a.zip")
    assert restored == first
    assert other_empty.row_counts() == filled.row_counts()
    second = backup(other_empty, tmp_path / "b.zip")
    assert digests(second) == digests(first)
    # The restored database carries on: keys continue after the restored ones.
    other_empty.register_framework(load_framework("gbt33356-2022"), "erin")
    assert (
        other_empty.row_counts()["framework_versions"]
        == filled.row_counts()["framework_versions"] + 1
    )


def test_sqlite_to_postgresql_and_back(mini: Framework, mini_demo: Demo, tmp_path: Path) -> None:
    urls = {}
    stack = []
    for name, backend in (("first", "sqlite"), ("pg", "postgresql"), ("back", "sqlite")):
        folder = tmp_path / name
        folder.mkdir()
        gen = new_database_url(backend, folder)
        urls[name] = next(gen)
        stack.append(gen)
    dbs = {name: Database.open(Settings(database_url=url)) for name, url in urls.items()}
    try:
        dbs["first"].upgrade()
        fill(dbs["first"], mini, mini_demo)
        original = backup(dbs["first"], tmp_path / "sqlite.zip")
        restore(dbs["pg"], tmp_path / "sqlite.zip")
        from_pg = backup(dbs["pg"], tmp_path / "pg.zip")
        assert from_pg.source == "postgresql"
        assert digests(from_pg) == digests(original)
        restore(dbs["back"], tmp_path / "pg.zip")
        assert digests(backup(dbs["back"], tmp_path / "back.zip")) == digests(original)
    finally:
        for db in dbs.values():
            db.dispose()
        for gen in stack:
            gen.close()


def test_a_database_with_rows_is_replaced_only_when_forced(
    filled: Database, db_url: str, tmp_path: Path
) -> None:
    backup(filled, tmp_path / "a.zip")
    filled.register_framework(load_framework("gbt33356-2022"), "erin")
    before = filled.row_counts()
    with pytest.raises(InputError) as err:
        restore(filled, tmp_path / "a.zip")
    assert err.value.key == "store.restore_not_empty"
    assert "--force" in err.value.render("en")
    assert filled.row_counts() == before
    manifest = restore(filled, tmp_path / "a.zip", force=True)
    # Web sessions are not backed up: the replaced database has none.
    assert filled.row_counts() == {t.name: t.rows for t in manifest.tables} | {"web_sessions": 0}


def rewrite(path: Path, change: Callable[[dict[str, bytes]], None]) -> Path:
    from zipfile import ZipFile

    with ZipFile(path) as zf:
        entries = {name: zf.read(name) for name in zf.namelist()}
    change(entries)
    damaged = path.with_name("damaged.zip")
    with ZipFile(damaged, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return damaged


def _flip_value(entries: dict[str, bytes]) -> None:
    name = "tables/indicator_values.jsonl"
    entries[name] = entries[name].replace(b",", b";", 1)


def _drop_line(entries: dict[str, bytes]) -> None:
    name = "tables/audit_log.jsonl"
    entries[name] = entries[name].split(b"\n", 1)[1]


def _newer_revision(entries: dict[str, bytes]) -> None:
    manifest = json.loads(entries[MANIFEST])
    manifest["revision"] = "0099"
    entries[MANIFEST] = json.dumps(manifest).encode()


DAMAGE: dict[str, tuple[Callable[[Path], Path], str]] = {
    "changed cell": (lambda p: rewrite(p, _flip_value), "store.backup_bad_line"),
    "missing row": (lambda p: rewrite(p, _drop_line), "store.backup_rows"),
    "no manifest": (
        lambda p: rewrite(p, lambda e: e.pop(MANIFEST) and None),
        "store.backup_unreadable",
    ),
    "newer revision": (lambda p: rewrite(p, _newer_revision), "store.backup_revision"),
    "truncated": (lambda p: _truncate(p), "store.backup_unreadable"),
    "not a zip": (lambda p: _replace(p, b"unit,year\n"), "store.backup_unreadable"),
    "missing file": (lambda p: p.with_name("nowhere.zip"), "store.backup_missing"),
}


def _truncate(path: Path) -> Path:
    out = path.with_name("truncated.zip")
    out.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return out


def _replace(path: Path, data: bytes) -> Path:
    out = path.with_name("other.zip")
    out.write_bytes(data)
    return out


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_backup_is_refused_and_changes_nothing(
    good_backup: Path, other_empty: Database, tmp_path: Path, damage: str
) -> None:
    make, key = DAMAGE[damage]
    bad = make(shutil.copy(good_backup, tmp_path / "a.zip"))
    other_empty.upgrade()
    with pytest.raises(InputError) as err:
        restore(other_empty, bad, force=True)
    assert [p.key for p in err.value.problems] == [key]
    assert str(bad) in err.value.render("zh-CN")
    assert set(other_empty.row_counts().values()) == {0}
    assert other_empty.revision() == migrate.head_revision()


def test_a_checksum_mismatch_is_caught_even_when_every_line_parses(
    good_backup: Path, tmp_path: Path
) -> None:
    def change_number(entries: dict[str, bytes]) -> None:
        name = "tables/run_scores.jsonl"
        entries[name] = entries[name].replace(b'"TOTAL"', b'"TOTAl"', 1)

    with pytest.raises(InputError) as err:
        read_backup(rewrite(shutil.copy(good_backup, tmp_path / "a.zip"), change_number))
    assert [p.key for p in err.value.problems] == ["store.backup_checksum"]


def test_nothing_to_back_up_leaves_no_file(empty_db: Database, tmp_path: Path) -> None:
    out = tmp_path / "backups"
    with pytest.raises(CityLoopError) as err:
        backup(empty_db, out / "a.zip")
    assert err.value.key == "store.backup_no_schema"
    assert list(out.iterdir()) == []


def test_a_restore_to_an_older_revision_is_noticed_by_the_next_session(
    filled: Database, other_empty: Database, mini: Framework, tmp_path: Path
) -> None:
    with other_empty.transaction() as conn:
        migrate.upgrade(conn, "0001")
    old = backup(other_empty, tmp_path / "old.zip")
    assert old.revision == "0001"
    assert filled.units() is not None  # the schema check has passed once
    restore(filled, tmp_path / "old.zip", force=True)
    assert filled.revision() == "0001"
    with pytest.raises(CityLoopError) as err:
        filled.units()
    assert err.value.key == "store.not_upgraded"
