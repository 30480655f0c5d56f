"""The working-day calendar's tables (工作日历)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.core.database import Base


class CalendarDay(Base):
    """A statutory holiday (holiday) or an adjusted working weekend day (workday, 调休)."""

    __tablename__ = "calendar_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))  # package | admin


class CalendarYear(Base):
    """A year whose holidays are known; other years fall back to weekends and are flagged."""

    __tablename__ = "calendar_year"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(16))
    loaded_at: Mapped[datetime]
