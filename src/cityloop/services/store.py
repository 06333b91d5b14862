"""Storage use-cases for the CLI and (later) the web app: open and upgrade the database, load
the synthetic demo data, back up and restore. Thin: the work is in ``cityloop.store``.
"""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from cityloop.datahub.indicator_table import validate_values
from cityloop.datahub.units import build_units
from cityloop.demo.generator import DEFAULT_YEARS, DEMO_SEED, generate_demo
from cityloop.errors import CityLoopError
from cityloop.frameworks import load_framework, shipped_ids
from cityloop.services.files import write_atomically
from cityloop.store import Database, Origin, OriginKind, Settings, WriteCounts
from cityloop.store.backup import Manifest, restore_backup, write_backup


@dataclass(frozen=True)
class DemoLoad:
    """What loading the demo data wrote: regions, and values per framework."""

    regions: WriteCounts
    values: dict[str, WriteCounts]


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
    return DemoLoad(regions=regions, values=values)


def backup(db: Database, path: Path) -> Manifest:
    """Write a backup of ``db`` to ``path`` (a .zip), atomically."""
    manifests: list[Manifest] = []
    write_atomically(path, lambda tmp: manifests.append(write_backup(db, tmp)))
    return manifests[0]


def restore(db: Database, path: Path, *, force: bool = False) -> Manifest:
    """Restore a backup into ``db``; see ``cityloop.store.backup.restore_backup``."""
    return restore_backup(db, path, force=force)
