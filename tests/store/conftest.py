"""Storage tests run on both backends: the fixtures live in ``databases.py`` and ``samples.py``."""

from tests.store.databases import backend, db, db_url, empty_db
from tests.store.samples import mini, mini_demo

__all__ = ["backend", "db", "db_url", "empty_db", "mini", "mini_demo"]
