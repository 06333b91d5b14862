"""A ready-to-use site on the configured database: schema, synthetic demo data, a first
evaluation and one demo account per role — what ``scripts/run`` prepares before serving.

Each step is skipped when already done, so running it again changes nothing.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cityloop.accounts import Role
from cityloop.demo.generator import DEFAULT_YEARS, DEMO_SEED
from cityloop.services import (
    catalogue,
    plan_demo,
    quality_demo,
    runs,
    sensor_demo,
    sharing_demo,
    survey_demo,
    users,
)
from cityloop.services.evaluation import DEFAULT_FRAMEWORK
from cityloop.services.store import load_demo
from cityloop.store import Database

ACCOUNTS_FILE = "demo-accounts.txt"
DEMO_PROVINCE = "440000"  # 广东: the demo province with the most synthetic cities
DEMO_DEPARTMENT = "data_bureau"  # the department responsible for the most GB/T 33356 items


@dataclass(frozen=True)
class DemoAccount:
    """A demo sign-in: who, as what, where, and the password generated for this install."""

    username: str
    role: Role
    scope: str | None
    department: str | None
    password: str


@dataclass(frozen=True)
class SiteReady:
    """What ``prepare_demo_site`` found or did."""

    loaded_demo: bool
    run_id: int
    accounts: list[DemoAccount]
    accounts_file: Path


def prepare_demo_site(db: Database, data_dir: Path, *, n_cities: int = 320) -> SiteReady:
    """Upgrade ``db``; load the demo if no regions are stored; evaluate the default framework
    if it has no run; open the synthetic demo surveys if the city has none; add the demo
    accounts if absent (passwords random, kept in ``data_dir/demo-accounts.txt``, mode 0600)."""
    db.upgrade()
    loaded = db.units() is None
    if loaded:
        load_demo(db, n_cities=n_cities, seed=DEMO_SEED, user="demo-site")
    existing = db.runs(DEFAULT_FRAMEWORK)
    run_id = existing[0].id if existing else runs.evaluate_stored(db, actor="demo-site")[0]
    survey_demo.load_demo_surveys(db, max(DEFAULT_YEARS), actor="demo-site", unit=first_city(db))
    catalogue.load_demo_catalogue(db, first_city(db), actor="demo-site")
    sensor_demo.load_demo_sensors(db, first_city(db), actor="demo-site")
    quality_demo.demo_probe_history(db, first_city(db), DEMO_SEED)
    sharing_demo.load_demo_requests(db, first_city(db), actor="demo-site")
    plan_demo.save_demo_plan(db, first_city(db), actor="demo-site")
    path = Path(data_dir) / ACCOUNTS_FILE
    if db.user("admin") is None:
        accounts = _add_accounts(db, first_city(db))
        _write_accounts(path, accounts)
    else:
        accounts = read_accounts(path)
    return SiteReady(loaded, run_id, accounts, path)


def first_city(db: Database) -> str:
    """The demo province's first city, by code: the city the city-level accounts work in."""
    units = db.units()
    assert units is not None, "prepare_demo_site loads the regions first"
    table = units.table
    cities = table.index[(table["level"] == "city") & (table["parent"] == DEMO_PROVINCE)]
    return str(sorted(cities)[0])


def _add_accounts(db: Database, city: str) -> list[DemoAccount]:
    plan = [
        ("admin", Role.ADMINISTRATOR, None, None),
        ("analyst", Role.EVALUATOR, DEMO_PROVINCE, None),
        ("officer", Role.DATA_OFFICER, city, DEMO_DEPARTMENT),
        ("manager", Role.PROJECT_MANAGER, DEMO_PROVINCE, None),
        ("viewer", Role.VIEWER, city, None),
    ]
    accounts = []
    for username, role, scope, department in plan:
        password = f"cl-{secrets.token_hex(8)}"
        users.add_user(db, username, password, role, scope, department, actor="demo-site")
        accounts.append(DemoAccount(username, role, scope, department, password))
    return accounts


def _write_accounts(path: Path, accounts: list[DemoAccount]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()  # a stale file from an earlier database: its passwords are void now
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        for a in accounts:
            handle.write(f"{a.username}\t{a.role.value}\t{a.scope or ''}\t")
            handle.write(f"{a.department or ''}\t{a.password}\n")
        handle.flush()
        os.fsync(handle.fileno())


def read_accounts(path: Path) -> list[DemoAccount]:
    """The demo accounts written by an earlier run; empty when the file is gone."""
    if not path.exists():
        return []
    accounts = []
    for line in path.read_text(encoding="utf-8").splitlines():
        username, role, scope, department, password = line.split("\t")
        accounts.append(
            DemoAccount(username, Role(role), scope or None, department or None, password)
        )
    return accounts
