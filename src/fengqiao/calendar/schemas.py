from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from fengqiao.core.fields import Day, Text
from fengqiao.core.workcalendar import DayKind


class SpecialDayOut(BaseModel):
    day: date
    kind: DayKind
    name: str
    source: str


class SpecialDayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: Day
    kind: DayKind
    name: Annotated[str, Text(64)]


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
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"days": [{"day": "2027-10-01", "kind": "holiday", "name": "国庆节"}]}]
        },
    )

    days: list[SpecialDayIn] = Field(max_length=400)
