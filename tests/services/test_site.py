"""The demo site: prepared once on either backend, idempotent, with working demo accounts."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from cityloop.accounts import Role
from cityloop.cli import app
from cityloop.services.site import ACCOUNTS_FILE, prepare_demo_site
from cityloop.services.users import authenticate
from cityloop.store import Database
from tests.store.databases import backend, db, db_url, empty_db

__all__ = ["backend", "db", "db_url", "empty_db"]  # fixtures on both backends

SMALL = 31  # the smallest demo panel the generator makes


def test_prepare_is_complete_and_idempotent(db: Database, tmp_path: Path) -> None:
    first = prepare_demo_site(db, tmp_path, n_cities=SMALL)
    assert first.loaded_demo
    assert {a.role for a in first.accounts} == set(Role)
    counts = db.row_counts()
    assert counts["run_scores"] > 0 and counts["indicator_values"] > 0
    # The synthetic demo surveys: two citizen years, a government and an enterprise survey.
    surveys = db.surveys.list()
    assert sorted(s.year for s in surveys)[0] == sorted(s.year for s in surveys)[-1] - 1
    assert len(surveys) == 4 and all(db.surveys.response_count(s.id) > 0 for s in surveys)
    # The data hub: a catalogue, sensor observations, probe history and three sharing requests.
    assert min(counts[t] for t in ("data_resources", "observations", "resource_checks")) > 0
    requests = db.sharing.requests()
    assert sorted(r.status for r in requests) == ["approved", "pending", "refused"]
    assert counts["api_keys"] == 1  # the approved request's key
    # Planning: one illustrative plan of the demo city, named as synthetic.
    plans = db.plans.list()
    assert counts["plans"] == 1 and "示意" in plans[0].name
    assert any(p["chosen"] for p in plans[0].result["projects"])
    again = prepare_demo_site(db, tmp_path, n_cities=SMALL)
    assert not again.loaded_demo
    assert again.run_id == first.run_id
    assert again.accounts == first.accounts
    assert db.row_counts() == counts  # nothing written the second time
    mode = stat.S_IMODE((tmp_path / ACCOUNTS_FILE).stat().st_mode)
    assert mode == 0o600
    now = datetime.now(UTC)
    for account in first.accounts:
        principal = authenticate(db, account.username, account.password, now)
        assert principal is not None and principal.role == account.role
    officer = next(a for a in first.accounts if a.role == Role.DATA_OFFICER)
    assert officer.department and officer.scope


def test_cli_demo_site_prints_the_accounts(tmp_path: Path) -> None:
    env = {"CITYLOOP_DATA_DIR": str(tmp_path), "CITYLOOP_DATABASE_URL": ""}
    result = CliRunner().invoke(app, ["demo-site", "--cities", str(SMALL)], env=env)
    assert result.exit_code == 0, result.output
    assert "合成演示数据" in result.output
    password = (tmp_path / ACCOUNTS_FILE).read_text(encoding="utf-8").split("\n")[0].split("\t")[4]
    assert password in result.output
