"""outbox: when a message began failing, when it was given up, and its place

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-09 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fengqiao.core.database

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(
            sa.Column(
                "failing_since", fengqiao.core.database.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("failed_at", fengqiao.core.database.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "region_path",
                sa.String(length=255).with_variant(
                    sa.String(length=255, collation="C"), "postgresql"
                ),
                nullable=True,
            )
        )
        batch_op.create_index(batch_op.f("ix_outbox_region_path"), ["region_path"])
    op.execute(
        "UPDATE outbox SET region_path = "
        "(SELECT event.region_path FROM event WHERE event.id = outbox.event_id) "
        "WHERE event_id IS NOT NULL"
    )
    # Messages given up by count before: their limit counts from their last attempt.
    op.execute(
        "UPDATE outbox SET failing_since = next_attempt_at, failed_at = next_attempt_at "
        "WHERE status = 'failed'"
    )


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_region_path"))
        batch_op.drop_column("region_path")
        batch_op.drop_column("failed_at")
        batch_op.drop_column("failing_since")
