"""mediation: committees and mediators

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fengqiao.core.database

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", fengqiao.core.database.UTCDateTime(), nullable=False),
        sa.Column("updated_at", fengqiao.core.database.UTCDateTime(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "mediation_committee",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("region_path", fengqiao.core.database.PathString(), nullable=False),
        sa.Column("specialties", sa.JSON(), nullable=False),
        sa.Column("venue", sa.String(length=200), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(["region_id"], ["region.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_index("ix_mediation_committee_region_id", "mediation_committee", ["region_id"])
    op.create_index("ix_mediation_committee_region_path", "mediation_committee", ["region_path"])
    op.create_table(
        "mediator",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("committee_id", sa.Integer(), nullable=False),
        sa.Column("region_path", fengqiao.core.database.PathString(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("gender", sa.String(length=8), nullable=False),
        sa.Column("position", sa.String(length=16), nullable=False),
        sa.Column("specialties", sa.JSON(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("profile", sa.String(length=500), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(["committee_id"], ["mediation_committee.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id"),
    )
    op.create_index("ix_mediator_committee_id", "mediator", ["committee_id"])
    op.create_index("ix_mediator_region_path", "mediator", ["region_path"])


def downgrade() -> None:
    op.drop_table("mediator")
    op.drop_table("mediation_committee")
