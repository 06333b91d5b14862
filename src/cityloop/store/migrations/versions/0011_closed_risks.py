"""Closed risks stay on record: a risk taken off a project's register keeps its row, with the
day it was closed and who closed it.

Revision 0011, after 0010. Adds two nullable columns to ``project_risks``; every existing risk
is open (risks closed before 0011 were deleted, and only the audit log keeps them).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("project_risks") as batch:
        batch.add_column(sa.Column("closed_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("closed_by", sa.String(length=64), nullable=True))


def downgrade() -> None:
    closed = op.get_bind().execute(
        sa.text("SELECT count(*) FROM project_risks WHERE closed_on IS NOT NULL")
    )
    if closed.scalar_one():
        # The schema before 0011 has no place for a closed risk; refuse rather than lose it.
        raise RuntimeError(
            "cannot downgrade below 0011: closed risks are on record (restore a backup instead)"
        )
    with op.batch_alter_table("project_risks") as batch:
        batch.drop_column("closed_by")
        batch.drop_column("closed_on")
