"""Tables that belong to no domain: the audit log, change counters, and the categories
of matters, which every domain names (units handle them, routing keys on them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.core.database import Base, PathString


class AuditLog(Base):
    __tablename__ = "audit_log"
    __audited__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(64))
    # create / update / delete / read_personal_data / login / login_failed / logout ...
    action: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    region_path: Mapped[str | None] = mapped_column(PathString())
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_log_entity", "entity", "entity_id"),
        Index("ix_audit_log_region_path", "region_path"),
    )


class Revision(Base):
    """A counter bumped on every change of a cached data set (e.g. grid polygons), so
    each process knows when to rebuild its in-memory copy."""

    __tablename__ = "revision"
    __audited__ = False

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class Category(Base):
    """A kind of matter (事件类别); two levels, e.g. dispute → dispute.maritime."""

    __tablename__ = "event_category"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str | None] = mapped_column(String(64))  # shown in the English console
    parent_code: Mapped[str | None] = mapped_column(String(64))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
