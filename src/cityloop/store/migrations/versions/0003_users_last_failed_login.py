"""The time of an account's last failed login, which the lockout policy needs.

Revision 0003, after 0002. Existing accounts take it from their newest login_failed audit row.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("last_failed_login", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE users SET last_failed_login = ("
        " SELECT max(a.at) FROM audit_log a WHERE a.entity = 'users'"
        " AND a.entity_id = users.username AND a.action = 'login_failed')"
        " WHERE failed_logins > 0"
    )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("last_failed_login")
