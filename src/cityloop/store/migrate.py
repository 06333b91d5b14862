"""Run the Alembic migrations shipped inside the package, on a connection CityLoop gives.

No alembic.ini and no paths relative to the working folder: the config is built here.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from cityloop.errors import CityLoopError

SCRIPT_LOCATION = "cityloop.store:migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """The Alembic config of CityLoop's migrations, bound to ``connection`` when given."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(connection: Connection, revision: str = "head") -> None:
    """Upgrade the database to ``revision`` inside the caller's transaction."""
    command.upgrade(alembic_config(connection), revision)


def downgrade(connection: Connection, revision: str) -> None:
    """Downgrade to ``revision`` in the caller's transaction; ``base`` drops every table."""
    command.downgrade(alembic_config(connection), revision)


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, or None for a database without CityLoop tables."""
    return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships its migrations
        raise RuntimeError("no migrations found")
    return head


def known_revisions() -> list[str]:
    """Every revision this version of CityLoop can migrate to, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def require_known(revision: str | None, url: str) -> None:
    """Refuse a database at a revision this CityLoop does not ship (made by a newer one)."""
    known = known_revisions()
    if revision is not None and revision not in known:
        raise CityLoopError(
            "store.unknown_revision", url=url, revision=revision, known=", ".join(known)
        )
