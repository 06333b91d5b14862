"""Framework versions: stored as YAML with the content hash the evaluation's provenance uses."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from cityloop.errors import InputError
from cityloop.frameworks import Framework, load_framework
from cityloop.frameworks.loader import departments
from cityloop.store import Database
from cityloop.store.frameworks import content_hash
from cityloop.store.models import Department, FrameworkVersion


def test_a_stored_version_loads_back_identical(db: Database, mini: Framework) -> None:
    version_id = db.register_framework(mini, "alice")
    assert db.register_framework(mini, "bob") == version_id  # the same content: nothing new
    stored = db.framework("mini")
    assert stored.spec == mini.spec
    assert content_hash(stored) == content_hash(mini)
    with db.reader() as s:
        version = s.scalars(select(FrameworkVersion)).one()
        codes = set(s.scalars(select(Department.code)))
    assert version.registered_by == "alice"
    assert codes == set(departments())
    assert db.row_counts()["audit_log"] == 1


def test_changed_content_needs_a_new_version(db: Database, mini: Framework) -> None:
    db.register_framework(mini, "alice")
    edited = mini.spec.model_copy(update={"scale": 10.0})
    changed = load_framework_from_spec(edited)
    with pytest.raises(InputError) as err:
        db.register_framework(changed, "alice")
    assert err.value.key == "store.framework_conflict"
    newer = load_framework_from_spec(edited.model_copy(update={"version": "2"}))
    db.register_framework(newer, "alice")
    assert db.framework("mini").version == "2"
    assert db.framework("mini", "1").spec.scale == mini.spec.scale


def test_every_shipped_framework_round_trips(db: Database) -> None:
    for fid in ("gbt33356-2016", "itu-y4903-u4ssc"):
        fw = load_framework(fid)
        db.register_framework(fw, "alice")
        assert db.framework(fid).spec == fw.spec


def test_an_unknown_framework_is_named(db: Database) -> None:
    with pytest.raises(InputError) as err:
        db.framework("nope")
    assert "nope" in err.value.render("en")


def load_framework_from_spec(spec: object) -> Framework:
    from cityloop.frameworks import compile_framework
    from cityloop.frameworks.schema import FrameworkFile

    assert isinstance(spec, FrameworkFile)
    return compile_framework(spec, departments=departments())
