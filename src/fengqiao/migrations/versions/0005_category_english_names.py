"""English names of the event categories

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 20:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The default categories' English names as of this revision (installations may have
# renamed or added categories; only these codes are filled).
NAMES_EN = {
    "dispute": "Disputes",
    "dispute_family": "Family and neighbour disputes",
    "dispute_labour": "Labour disputes",
    "maritime_fishery": "Maritime and fishery",
    "security": "Public order and hazards",
    "fire_safety": "Fire safety",
    "safety_production": "Workplace safety",
    "food_safety": "Food hygiene",
    "urban_management": "Street environment",
    "urban_construction": "Town and village building",
    "environment": "Environmental protection",
    "transport": "Transport",
    "labour_social": "Labour and social security",
    "education_culture": "Education, culture and sport",
    "commerce_tourism": "Commerce and tourism",
    "health": "Health and family planning",
    "livelihood": "Public services",
    "petition": "Petitions",
    "other": "Other",
}


def upgrade() -> None:
    op.add_column("event_category", sa.Column("name_en", sa.String(length=64), nullable=True))
    category = sa.table("event_category", sa.column("code"), sa.column("name_en"))
    for code, name in NAMES_EN.items():
        op.execute(category.update().where(category.c.code == code).values(name_en=name))


def downgrade() -> None:
    with op.batch_alter_table("event_category") as batch:
        batch.drop_column("name_en")
