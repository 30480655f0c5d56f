from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.core.database import Base


class CategoryCorrection(Base):
    """A dispatcher chose another category than the model's first suggestion: the message
    and the right label, kept as training data for the next model (`classify retrain`)."""

    __tablename__ = "classifier_correction"

    id: Mapped[int] = mapped_column(primary_key=True)
    matter_id: Mapped[int] = mapped_column(
        "event_id", ForeignKey("event.id", ondelete="CASCADE"), key="matter_id", index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    predicted: Mapped[str] = mapped_column(String(64))  # the model's label
    probability: Mapped[float] = mapped_column(Float)
    model_version: Mapped[str] = mapped_column(String(64))
    category_code: Mapped[str] = mapped_column(String(64))  # the dispatcher's choice
    label: Mapped[str] = mapped_column(String(64))  # its name: the label a model learns
    actor_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime]
