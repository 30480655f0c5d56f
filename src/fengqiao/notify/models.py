from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.core.database import Base, PathString


class OutboxMessage(Base):
    """A notification written in the same transaction as the change it announces. Its
    place (`region_path`, its matter's) decides who sees it; one with no place concerns the
    whole installation."""

    __tablename__ = "outbox"
    __audited__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime]
    topic: Mapped[str] = mapped_column(String(64))
    matter_id: Mapped[int | None] = mapped_column("event_id", Integer, key="matter_id", index=True)
    # The place of the matter it is about; None: the whole installation's.
    region_path: Mapped[str | None] = mapped_column(PathString(), index=True)
    recipient: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # pending (due at next_attempt_at; while a worker sends it, that is its lease's end),
    # delivered, or failed (given up: waits for an administrator to send it again).
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # The first failure since it was written or sent again: the limit counts from here.
    failing_since: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]  # when it was given up

    __table_args__ = (
        Index("ix_outbox_pending", "status", "next_attempt_at"),
        Index("ix_outbox_recipient", "recipient", "id"),  # a person's inbox
    )
