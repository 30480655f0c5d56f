from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.core.database import Base, JournalMixin, PathString, TimestampMixin


class Matter(TimestampMixin, Base):
    """One matter, one work order (一事一工单)."""

    __tablename__ = "event"
    __personal_fields__ = ("reporter_phone",)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category_code: Mapped[str | None] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    urgency: Mapped[str] = mapped_column(String(16))
    risk_colour: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Where: WGS84 position, the grid it fell in and that grid's path (or the region's).
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(200))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grid.id"))
    region_path: Mapped[str] = mapped_column(PathString())
    cell: Mapped[int | None] = mapped_column(BigInteger)  # of the position (geo.cells)
    # Who reported it.
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    reporter_name: Mapped[str | None] = mapped_column(String(64))
    reporter_phone: Mapped[str | None] = mapped_column(String(32))
    # Who handles it now.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("event.id"), index=True)
    # Deadlines of the current stage, as timestamps: "what is overdue" is one index scan.
    sign_due_at: Mapped[datetime | None]
    onsite_due_at: Mapped[datetime | None]
    reply_due_at: Mapped[datetime | None]
    resolve_due_at: Mapped[datetime | None]
    due_flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    supervision: Mapped[int] = mapped_column(Integer, default=0)
    next_sweep_at: Mapped[datetime | None]
    extension_until: Mapped[datetime | None]  # requested, awaiting approval
    # A request waiting on someone (待审批): the row that asked, the kind of actor it waits
    # on, why, by whom and since when (the workflow's `awaits`).
    pending_action: Mapped[str | None] = mapped_column(String(32))
    pending_actor: Mapped[str | None] = mapped_column(String(16))
    pending_reason: Mapped[str | None] = mapped_column(String(2000))
    pending_by: Mapped[str | None] = mapped_column(String(64))
    pending_at: Mapped[datetime | None]
    # Facts kept as the matter moves, from which the indicators are summed.
    reported_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None]
    first_dispatched_at: Mapped[datetime | None]
    signed_at: Mapped[datetime | None]
    handled_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    dispatch_count: Mapped[int] = mapped_column(Integer, default=0)
    return_count: Mapped[int] = mapped_column(Integer, default=0)
    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    handled_on_time: Mapped[bool | None]
    closed_on_time: Mapped[bool | None]
    closed_level: Mapped[int | None] = mapped_column(Integer)
    closed_by_id: Mapped[int | None] = mapped_column(Integer)  # who verified or self-resolved
    self_resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    rating: Mapped[str | None] = mapped_column(String(16))
    # The routing proposal (unit, level, reason).
    suggestion: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The text classifier's proposal: {"model", "threshold", "items": [{code, label, p}]}.
    category_suggestions: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Possible duplicates found at intake: [{"id", "number", "title", "score"}], best first.
    possible_duplicates: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_event_region_path", "region_path"),
        Index("ix_event_state_path", "state", "region_path"),
        Index("ix_event_next_sweep_at", "next_sweep_at"),
        Index("ix_event_reported_at", "reported_at"),
        Index("ix_event_cell_reported", "cell", "reported_at"),  # nearby recent matters
        Index("ix_event_unit_state", "unit_id", "state"),
        Index("ix_event_updated_at", "updated_at"),  # the live stream's changes
        Index("ix_event_pending_actor", "pending_actor"),
    )
    # Every UPDATE checks the version it read: of two concurrent transitions one loses.
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class TimelineEntry(JournalMixin, Base):
    """Everything that happens to a matter: who, when, from which state to which, why."""

    __tablename__ = "event_timeline"
    __audited__ = False  # itself an audit trail

    id: Mapped[int] = mapped_column(primary_key=True)
    matter_id: Mapped[int] = mapped_column(
        "event_id", ForeignKey("event.id", ondelete="CASCADE"), key="matter_id", index=True
    )


class Attachment(Base):
    """A photo or document, stored once by content hash."""

    __tablename__ = "event_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    matter_id: Mapped[int] = mapped_column(
        "event_id", ForeignKey("event.id", ondelete="CASCADE"), key="matter_id", index=True
    )
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(16))  # report | feedback | verify | resolve
    uploaded_by: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]


class RoutingRule(TimestampMixin, Base):
    """Category (and urgency, region) → responsible unit and level (谁主管谁负责)."""

    __tablename__ = "routing_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_code: Mapped[str] = mapped_column(String(64), index=True)
    urgency: Mapped[str | None] = mapped_column(String(16))
    region_path: Mapped[str | None] = mapped_column(PathString())
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    level: Mapped[int] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class DeadlinePolicy(TimestampMixin, Base):
    """Time limits per category × urgency (None: no limit for that stage). With basis
    "working" the numbers are working days, else clock hours."""

    __tablename__ = "deadline_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_code: Mapped[str | None] = mapped_column(String(64))  # None: every category
    urgency: Mapped[str] = mapped_column(String(16))
    sign: Mapped[float | None] = mapped_column(Float)
    onsite: Mapped[float | None] = mapped_column(Float)
    reply: Mapped[float | None] = mapped_column(Float)
    resolve: Mapped[float | None] = mapped_column(Float)
    # "working": the limits count working days on the calendar; "natural": clock hours
    # (emergencies do not wait for Monday).
    basis: Mapped[str] = mapped_column(String(16), default="working")
    # Working hours between the steps of the supervision ladder once a stage is overdue.
    ladder_hours: Mapped[float] = mapped_column(Float, default=4.0)

    __table_args__ = (UniqueConstraint("category_code", "urgency"),)
