from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from fengqiao.core.workcalendar import DayKind


class SpecialDayOut(BaseModel):
    day: date
    kind: DayKind
    name: str
    source: str


class SpecialDayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: date
    kind: DayKind
    name: str = Field(min_length=1, max_length=64)


class YearStatus(BaseModel):
    year: int
    covered: bool
    source: str | None
    holidays: int
    workdays: int


class CalendarStatus(BaseModel):
    years: list[YearStatus]
    warnings: list[str] = Field(description="years in use that have no holiday data")


class YearLoad(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: list[SpecialDayIn] = Field(max_length=400)
