"""Store, seed and serve the working-day calendar."""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fengqiao.calendar.models import CalendarDay, CalendarYear
from fengqiao.core import clock
from fengqiao.core.errors import Invalid
from fengqiao.core.labels import Label
from fengqiao.core.permissions import Action, Principal
from fengqiao.core.revision import RevisionCache, bump_revision
from fengqiao.core.workcalendar import (
    DayKind,
    SpecialDay,
    WorkCalendar,
    package_day_names,
    special_days_from_package,
)
from fengqiao.geo.service import root_paths

REVISION = "calendar"
NO_HOLIDAY_DATA = Label(
    "{y} 年的法定节假日和调休安排尚未录入，期限按周末计算并标记",
    "No holiday data for {y}: deadlines fall back to weekends and are flagged",
)


def seed_from_package(session: Session, years: range | None = None) -> list[int]:
    """Load every year the chinese-calendar package knows and the table lacks. Returns the
    years added. Years an administrator entered by hand are left alone."""
    this_year = clock.now().year
    years = years or range(this_year - 5, this_year + 2)
    have = set(session.scalars(select(CalendarYear.year)))
    wanted = [y for y in years if y not in have]
    if not wanted:
        return []
    days, covered = special_days_from_package(wanted)
    for day in days:
        session.merge(
            CalendarDay(day=day.day, kind=day.kind.value, name=day.name, source="package")
        )
    now = clock.now()
    for year in covered:
        session.add(CalendarYear(year=year, source="package", loaded_at=now))
    if covered:
        bump_revision(session, REVISION)
    session.commit()
    return sorted(covered)


def build_calendar(session: Session) -> WorkCalendar:
    days = [
        SpecialDay(r.day, DayKind(r.kind), r.name) for r in session.scalars(select(CalendarDay))
    ]
    return WorkCalendar(days, session.scalars(select(CalendarYear.year)).all())


def calendar_cache() -> RevisionCache[WorkCalendar]:
    """The calendar in memory, rebuilt when an administrator changes it (in any process)."""
    return RevisionCache(REVISION, build_calendar)


def year_status(
    session: Session, principal: Principal, lang: str = "zh"
) -> tuple[list[tuple[int, bool, str | None, int, int]], list[str]]:
    """Per year: (year, covered, source, holidays, workdays) from two years back to next
    year, and a warning for each year in that span without data."""
    principal.require(Action.calendar_read)
    this_year = clock.now().year
    sources: dict[int, str] = {
        y: s for y, s in session.execute(select(CalendarYear.year, CalendarYear.source))
    }
    counts: Counter[tuple[int, str]] = Counter(
        (d.year, k) for d, k in session.execute(select(CalendarDay.day, CalendarDay.kind)).all()
    )
    years = sorted(set(range(this_year - 2, this_year + 2)) | set(sources))
    rows = [
        (y, y in sources, sources.get(y), counts[(y, "holiday")], counts[(y, "workday")])
        for y in years
    ]
    warnings = [
        NO_HOLIDAY_DATA(lang).format(y=y)
        for y, covered, *_ in rows
        if not covered and y >= this_year
    ]
    return rows, warnings


def day_name(day: CalendarDay, lang: str) -> str:
    """A day's name in `lang`: the package's days have English names, an administrator's
    are as typed."""
    known = package_day_names().get(day.name) if day.source == "package" else None
    return known(lang) if known else day.name


def list_days(session: Session, principal: Principal, year: int) -> list[CalendarDay]:
    principal.require(Action.calendar_read)
    stmt = select(CalendarDay).where(
        CalendarDay.day >= _jan1(year), CalendarDay.day < _jan1(year + 1)
    )
    return list(session.scalars(stmt.order_by(CalendarDay.day)))


def _jan1(year: int) -> date:
    return date(year, 1, 1)


def set_year(session: Session, principal: Principal, year: int, days: list[SpecialDay]) -> None:
    """An administrator enters a year's holidays and adjusted working days (from the State
    Council notice); the year then counts as covered."""
    principal.require(Action.calendar_manage)
    principal.require_write(None, root_paths(session))  # the calendar binds everyone
    if not 2000 <= year <= 2100:
        raise Invalid("年份超出范围", "Year out of range")
    for day in days:
        if day.day.year != year:
            raise Invalid("{d} 不在 {y} 年内", "{d} is not in {y}", d=day.day.isoformat(), y=year)
        weekend = day.day.weekday() >= 5
        if day.kind is DayKind.workday and not weekend:
            raise Invalid(
                "{d} 是工作日，无需设为调休上班", "{d} is a weekday already", d=day.day.isoformat()
            )
    if len({d.day for d in days}) != len(days):
        raise Invalid("日期重复", "Duplicate dates")
    session.execute(
        delete(CalendarDay).where(CalendarDay.day >= _jan1(year), CalendarDay.day < _jan1(year + 1))
    )
    for day in days:
        session.add(CalendarDay(day=day.day, kind=day.kind.value, name=day.name, source="admin"))
    session.merge(CalendarYear(year=year, source="admin", loaded_at=clock.now()))
    bump_revision(session, REVISION)
    session.commit()
