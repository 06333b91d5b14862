"""Alembic environment: runs the migrations on the connection CityLoop hands it.

There is no alembic.ini; ``cityloop.store.migrate`` builds the config and passes a connection.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from cityloop.store.models import Base

connection = context.config.attributes.get("connection")
if context.is_offline_mode() or not isinstance(connection, Connection):
    raise RuntimeError("CityLoop migrations run through cityloop.store.migrate with a connection")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
