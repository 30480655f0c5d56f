from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel

from fengqiao.calendar import service
from fengqiao.calendar.schemas import (
    CalendarStatus,
    SpecialDayOut,
    YearLoad,
    YearStatus,
)
from fengqiao.core.errors import Invalid, error_responses
from fengqiao.core.fields import FIRST_YEAR, LAST_YEAR, When
from fengqiao.core.permissions import Action
from fengqiao.core.workcalendar import DayKind, SpecialDay
from fengqiao.deps import LanguageDep, PrincipalDep, SessionDep

router = APIRouter(tags=["calendar 工作日历"], responses=error_responses(401, 422, 503))

Year = Annotated[int, Path(ge=FIRST_YEAR, le=LAST_YEAR, examples=[2027])]


@router.get(
    "/api/calendar/status",
    response_model=CalendarStatus,
    summary="各年度节假日数据是否已录入",
    responses=error_responses(403),
)
def status(session: SessionDep, principal: PrincipalDep, lang: LanguageDep) -> CalendarStatus:
    rows, warnings = service.year_status(session, principal, lang)
    return CalendarStatus(
        years=[
            YearStatus(year=y, covered=c, source=s, holidays=h, workdays=w)
            for y, c, s, h, w in rows
        ],
        warnings=warnings,
    )


class DeadlineOut(BaseModel):
    start: datetime
    due: datetime
    flagged: bool
    uncovered_years: list[int]


@router.get(
    "/api/calendar/deadline",
    response_model=DeadlineOut,
    summary="按工作日或工作小时推算期限",
    responses=error_responses(403),
)
def deadline(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    start: When,
    working_days: Annotated[int | None, Query(ge=0, le=365)] = None,
    working_hours: Annotated[float | None, Query(ge=0, le=24 * 365)] = None,
) -> DeadlineOut:
    principal.require(Action.calendar_read)
    if start.tzinfo is None:
        raise Invalid(
            "start 需带时区，例如 2026-10-01T09:00:00+08:00",
            "start needs a time zone, e.g. 2026-10-01T09:00:00+08:00",
        )
    if (working_days is None) == (working_hours is None):
        raise Invalid(
            "working_days 与 working_hours 须且只须给出一个",
            "Give exactly one of working_days and working_hours",
        )
    cal = request.app.state.calendar.get(session)
    result = (
        cal.add_working_days(start, working_days)
        if working_days is not None
        else cal.add_working_hours(start, working_hours)
    )
    return DeadlineOut(
        start=start,
        due=result.at,
        flagged=result.flagged,
        uncovered_years=sorted(result.uncovered_years),
    )


@router.get(
    "/api/calendar/{year}",
    response_model=list[SpecialDayOut],
    summary="某年的法定节假日与调休上班日",
    responses=error_responses(403),
)
def list_days(
    year: Year, session: SessionDep, principal: PrincipalDep, lang: LanguageDep
) -> list[SpecialDayOut]:
    return [
        SpecialDayOut(
            day=d.day, kind=DayKind(d.kind), name=service.day_name(d, lang), source=d.source
        )
        for d in service.list_days(session, principal, year)
    ]


@router.put(
    "/api/calendar/{year}",
    response_model=list[SpecialDayOut],
    summary="录入某年的法定节假日与调休安排（管理员）",
    responses=error_responses(403, 413),
)
def set_year(
    year: Year,
    body: YearLoad,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    lang: LanguageDep,
) -> list[SpecialDayOut]:
    service.set_year(
        session, principal, year, [SpecialDay(d.day, d.kind, d.name) for d in body.days]
    )
    request.app.state.calendar.invalidate()
    return list_days(year, session, principal, lang)
