"""index of matters by grid and time of report (duplicate search at intake)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 13:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_event_grid_reported", "event", ["grid_id", "reported_at"])


def downgrade() -> None:
    op.drop_index("ix_event_grid_reported", table_name="event")
