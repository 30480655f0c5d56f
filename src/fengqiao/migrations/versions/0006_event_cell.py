"""matters keep the cell of their position; nearby recent matters by (cell, time)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from fengqiao.geo.cells import cell_of

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table("event") as batch_op:
        batch_op.add_column(sa.Column("cell", sa.BigInteger(), nullable=True))
    event = sa.table(
        "event", sa.column("id", sa.Integer), sa.column("lon", sa.Float), sa.column("lat", sa.Float)
    )
    cell = sa.table("event", sa.column("id", sa.Integer), sa.column("cell", sa.BigInteger))
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(event.c.id, event.c.lon, event.c.lat)
            .where(event.c.id > last, event.c.lon.is_not(None), event.c.lat.is_not(None))
            .order_by(event.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        connection.execute(
            sa.update(cell)
            .where(cell.c.id == sa.bindparam("b_id"))
            .values(cell=sa.bindparam("b_cell")),
            [{"b_id": i, "b_cell": cell_of(lon, lat)} for i, lon, lat in rows],
        )
        last = rows[-1].id
    op.drop_index("ix_event_grid_reported", table_name="event")
    op.create_index("ix_event_cell_reported", "event", ["cell", "reported_at"])


def downgrade() -> None:
    op.drop_index("ix_event_cell_reported", table_name="event")
    op.create_index("ix_event_grid_reported", "event", ["grid_id", "reported_at"])
    with op.batch_alter_table("event") as batch_op:
        batch_op.drop_column("cell")
