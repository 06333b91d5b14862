"""Storage: SQLAlchemy models, Alembic migrations, repositories and backups, on SQLite or
PostgreSQL. Every write goes through ``Database`` (``cityloop.store.database``).
"""

from cityloop.store.bulk import WriteCounts
from cityloop.store.database import Database
from cityloop.store.models import OriginKind
from cityloop.store.settings import Settings, make_engine
from cityloop.store.values import Origin

__all__ = [
    "Database",
    "Origin",
    "OriginKind",
    "Settings",
    "WriteCounts",
    "make_engine",
]
