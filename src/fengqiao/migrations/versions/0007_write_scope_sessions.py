"""refresh-token families, login throttles by account and address, who closed a matter

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fengqiao.core.database

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _throttle(key: str, length: int) -> None:
    op.create_table(
        "login_throttle",
        sa.Column(key, sa.String(length=length), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column(
            "last_failure_at", fengqiao.core.database.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("locked_until", fengqiao.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint(key, name=op.f("pk_login_throttle")),
    )


def upgrade() -> None:
    with op.batch_alter_table("auth_session") as batch_op:
        batch_op.add_column(sa.Column("family_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_auth_session_family_hash"), ["family_hash"]
        )
    # Counts of failed logins are short-lived: the table is made anew with its new key.
    op.drop_table("login_throttle")
    _throttle("key", 160)
    with op.batch_alter_table("event") as batch_op:
        batch_op.add_column(sa.Column("closed_by_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("event") as batch_op:
        batch_op.drop_column("closed_by_id")
    op.drop_table("login_throttle")
    _throttle("username", 64)
    with op.batch_alter_table("auth_session") as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_auth_session_family_hash"), type_="unique")
        batch_op.drop_column("family_hash")
