"""Storage use-cases for the CLI and (later) the web app: open and upgrade the database, load
the synthetic demo data, back up and restore. Thin: the work is in ``cityloop.store``.
"""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from cityloop.collection import CHINA_TIME, deadline_moment
from cityloop.datahub.indicator_table import validate_values
from cityloop.datahub.units import build_units
from cityloop.demo.generator import DEFAULT_YEARS, DEMO_SEED, generate_demo
from cityloop.errors import CityLoopError
from cityloop.frameworks import load_framework, shipped_ids
from cityloop.services.evaluation import DEFAULT_FRAMEWORK
from cityloop.services.files import write_atomically
from cityloop.store import Database, Origin, OriginKind, Settings, WriteCounts
from cityloop.store.audit import utc_now
from cityloop.store.backup import Manifest, restore_backup, write_backup

DEMO_ROUND_DAYS = 30  # the demo's collection round is due this many days after loading
DEMO_NOTE = "演示征集轮次（合成数据） / demo round (synthetic data)"


@dataclass(frozen=True)
class DemoLoad:
    """What loading the demo data wrote: regions, values per framework, and the collection
    round it opened (None when that round was there already)."""

    regions: WriteCounts
    values: dict[str, WriteCounts]
    round_id: int | None = None


def cli_user() -> str:
    """Who acts from the command line, as the audit log names them."""
    return f"cli:{getpass.getuser()}"


def open_database(settings: Settings | None = None) -> Database:
    """The configured database, after checking that it can be reached."""
    db = Database.open(settings)
    try:
        with db.engine.connect():
            pass
    except DBAPIError as exc:
        db.dispose()
        detail = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise CityLoopError("store.cannot_connect", url=db.url, detail=detail) from None
    return db


def upgrade(db: Database) -> tuple[str | None, str | None]:
    """Migrate to the newest revision; return the revision before and after."""
    before = db.revision()
    return before, db.upgrade()


def load_demo(
    db: Database,
    frameworks: Sequence[str] | None = None,
    *,
    n_cities: int = 320,
    seed: int = DEMO_SEED,
    user: str,
) -> DemoLoad:
    """Generate the synthetic demo data and store its regions, frameworks and values.

    Each framework's values go in as one transaction, marked as demo data in their origin.
    A collection round then asks for the year after the demo's last (the default framework's,
    else the first loaded), due in ``DEMO_ROUND_DAYS`` days, so a fresh site shows owed values.
    """
    loaded = [load_framework(ref) for ref in (frameworks or shipped_ids())]
    data = generate_demo(loaded, n_cities=n_cities, years=DEFAULT_YEARS, seed=seed)
    units = build_units(data.units, source="<demo>")
    regions = db.load_units(units, user)
    origin = Origin(OriginKind.DEMO, f"cityloop demo seed={seed} cities={n_cities}")
    values = {
        fw.id: db.upsert_values(validate_values(data.values[fw.id], fw, units), fw, user, origin)
        for fw in loaded
    }
    ids = [fw.id for fw in loaded]
    asked = DEFAULT_FRAMEWORK if DEFAULT_FRAMEWORK in ids else ids[0]
    year = max(DEFAULT_YEARS) + 1
    round_id = None
    if not any(r.year == year for r in db.rounds(asked)):
        due = utc_now().astimezone(CHINA_TIME).date() + timedelta(days=DEMO_ROUND_DAYS)
        round_id = db.open_round(asked, year, deadline_moment(due), note=DEMO_NOTE, actor=user).id
    return DemoLoad(regions=regions, values=values, round_id=round_id)


def backup(db: Database, path: Path) -> Manifest:
    """Write a backup of ``db`` to ``path`` (a .zip), atomically."""
    manifests: list[Manifest] = []
    write_atomically(path, lambda tmp: manifests.append(write_backup(db, tmp)))
    return manifests[0]


def restore(db: Database, path: Path, *, force: bool = False) -> Manifest:
    """Restore a backup into ``db``; see ``cityloop.store.backup.restore_backup``."""
    return restore_backup(db, path, force=force)
