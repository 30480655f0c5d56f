"""Mediation's tables: committees and their mediators."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.core.database import Base, PathString, TimestampMixin


class Committee(TimestampMixin, Base):
    """A people's mediation committee (调委会), a personal-brand room or an expert pool,
    serving the area of one region."""

    __tablename__ = "mediation_committee"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    region_path: Mapped[str] = mapped_column(PathString(), index=True)
    specialties: Mapped[list[str]] = mapped_column(JSON, default=list)
    venue: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Mediator(TimestampMixin, Base):
    """A mediator of a committee, with the public profile the mediation menu shows."""

    __tablename__ = "mediator"
    __personal_fields__ = ("phone",)

    id: Mapped[int] = mapped_column(primary_key=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("mediation_committee.id"), index=True)
    # The committee's region path, kept here so that one range test scopes mediators too.
    region_path: Mapped[str] = mapped_column(PathString(), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    gender: Mapped[str] = mapped_column(String(8))
    position: Mapped[str] = mapped_column(String(16))
    specialties: Mapped[list[str]] = mapped_column(JSON, default=list)
    phone: Mapped[str | None] = mapped_column(String(20))
    profile: Mapped[str | None] = mapped_column(String(500))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
