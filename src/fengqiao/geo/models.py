from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fengqiao.core.database import Base, PathString, TimestampMixin


class Region(TimestampMixin, Base):
    """A node of the administrative tree (行政区划), GB/T 2260-style codes."""

    __tablename__ = "region"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[int] = mapped_column(Integer)  # core.levels.Level: 2 community … 6 province
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"), index=True)
    # `330305/330305001/` — the subtree of a node is a range of this column.
    path: Mapped[str] = mapped_column(PathString(), unique=True)
    geometry_wkb: Mapped[bytes | None] = mapped_column(LargeBinary)

    parent: Mapped[Region | None] = relationship(remote_side=[id])


class Grid(TimestampMixin, Base):
    """A grid (网格): the smallest unit of territory with a named team."""

    __tablename__ = "grid"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    # parent region's path + own code: `330305/330305001/330305001003/33030500100301/`
    path: Mapped[str] = mapped_column(PathString(), unique=True)
    geometry_wkb: Mapped[bytes] = mapped_column(LargeBinary)
    centroid_lon: Mapped[float] = mapped_column(Float)
    centroid_lat: Mapped[float] = mapped_column(Float)
    area_km2: Mapped[float] = mapped_column(Float)

    region: Mapped[Region] = relationship()

    __table_args__ = (Index("ix_grid_kind_path", "kind", "path"),)
