"""region.level on the scale of core.levels (community 2 … province 6)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-12 09:00:00

Regions counted down from the province (province 0, city 1, county 2, township 3,
community 4) while matters, rules and jurisdictions count up from the grid (grid 1,
community 2, township 3, county 4, city 5, province 6). The old and the new level of a
region add up to 6, so one statement converts either way.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE region SET level = 6 - level")


def downgrade() -> None:
    op.execute("UPDATE region SET level = 6 - level")
