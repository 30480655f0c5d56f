"""event: the request a matter waits on (待审批), and an index for the live stream

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-13 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fengqiao.core.database

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("event") as batch_op:
        batch_op.add_column(sa.Column("pending_action", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("pending_actor", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("pending_reason", sa.String(length=2000), nullable=True))
        batch_op.add_column(sa.Column("pending_by", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column(
                "pending_at", fengqiao.core.database.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.create_index("ix_event_updated_at", ["updated_at"])
        batch_op.create_index("ix_event_pending_actor", ["pending_actor"])
    # A matter already waiting on a decision about its extension.
    op.execute(
        "UPDATE event SET pending_action = 'request_extension', pending_actor = 'dispatcher' "
        "WHERE extension_until IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("event") as batch_op:
        batch_op.drop_index("ix_event_pending_actor")
        batch_op.drop_index("ix_event_updated_at")
        batch_op.drop_column("pending_at")
        batch_op.drop_column("pending_by")
        batch_op.drop_column("pending_reason")
        batch_op.drop_column("pending_actor")
        batch_op.drop_column("pending_action")
