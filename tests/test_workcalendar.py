"""The working-day calendar on the 2026 notice (国办发明电〔2025〕7号 as carried by the
chinese-calendar package) and beyond the years it covers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fengqiao.core.workcalendar import (
    DayKind,
    SpecialDay,
    WorkCalendar,
    special_days_from_package,
)

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    days, covered = special_days_from_package(range(2024, 2028))
    assert covered == [2024, 2025, 2026]  # the package stops at 2026
    return WorkCalendar(days, covered)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)  # type: ignore[misc]


def test_2026_spring_festival(cal: WorkCalendar) -> None:
    # 春节: 15–23 February off; Saturdays 14 and 28 February worked.
    for d in range(15, 24):
        info = cal.day_info(date(2026, 2, d))
        assert not info.is_working and info.name == "春节"
    assert cal.is_working_day(date(2026, 2, 14)) and date(2026, 2, 14).weekday() == 5
    assert cal.is_working_day(date(2026, 2, 28)) and date(2026, 2, 28).weekday() == 5
    assert cal.is_working_day(date(2026, 2, 24))
    # Friday 13 February 10:00 + 1 working day = the working Saturday 14th.
    assert cal.add_working_days(at(2026, 2, 13, 10), 1).at == at(2026, 2, 14, 10)
    # Saturday 14th + 1 working day jumps the whole holiday to Tuesday 24th.
    due = cal.add_working_days(at(2026, 2, 14, 16), 1)
    assert due.at == at(2026, 2, 24, 16) and not due.flagged


def test_2026_national_day(cal: WorkCalendar) -> None:
    # 国庆节 1–7 October off; Sunday 20 September and Saturday 10 October worked.
    assert all(not cal.is_working_day(date(2026, 10, d)) for d in range(1, 8))
    assert cal.day_info(date(2026, 10, 1)).name == "国庆节"
    assert cal.is_working_day(date(2026, 9, 20)) and date(2026, 9, 20).weekday() == 6
    assert cal.is_working_day(date(2026, 10, 10)) and date(2026, 10, 10).weekday() == 5
    assert not cal.is_working_day(date(2026, 10, 11))
    assert cal.add_working_days(at(2026, 9, 30, 15), 1).at == at(2026, 10, 8, 15)
    # 8th, 9th, then the working Saturday 10th; Sunday 11th is off.
    assert cal.add_working_days(at(2026, 9, 30, 15), 3).at == at(2026, 10, 10, 15)
    assert cal.add_working_days(at(2026, 9, 30, 15), 4).at == at(2026, 10, 12, 15)
    # Wednesday 30 September 16:30 + 3 working hours: one hour left that day, two on the 8th.
    assert cal.add_working_hours(at(2026, 9, 30, 16, 30), 3).at == at(2026, 10, 8, 10, 30)
    seconds, years = cal.working_seconds_between(at(2026, 9, 30, 8, 30), at(2026, 10, 9, 8, 30))
    assert seconds == 2 * 7.5 * 3600 and years == frozenset()


def test_normalisation_of_start_times(cal: WorkCalendar) -> None:
    # Before opening, at lunch, after closing, on a weekend.
    assert cal.add_working_hours(at(2026, 11, 23, 7, 0), 0).at == at(2026, 11, 23, 8, 30)
    assert cal.add_working_hours(at(2026, 11, 23, 12, 30), 1).at == at(2026, 11, 23, 14, 30)
    assert cal.add_working_hours(at(2026, 11, 23, 19, 0), 1).at == at(2026, 11, 24, 9, 30)
    assert cal.add_working_days(at(2026, 11, 28, 10, 0), 1).at == at(2026, 12, 1, 8, 30)
    # Friday 16:30 + 2 h = Monday 09:30.
    assert cal.add_working_hours(at(2026, 11, 27, 16, 30), 2).at == at(2026, 11, 30, 9, 30)


def test_time_zones(cal: WorkCalendar) -> None:
    # 23:00 UTC on Sunday 22 November is 07:00 Monday in Shanghai.
    due = cal.add_working_hours(datetime(2026, 11, 22, 23, 0, tzinfo=UTC), 1)
    assert due.at == at(2026, 11, 23, 9, 30) and due.at.tzinfo is not None
    with pytest.raises(ValueError):
        cal.add_working_days(datetime(2026, 11, 23, 9, 0), 1)


def test_years_without_data_fall_back_and_are_flagged(cal: WorkCalendar) -> None:
    info = cal.day_info(date(2027, 1, 1))
    assert info.is_working and not info.covered  # a Friday; New Year unknown until entered
    due = cal.add_working_days(at(2026, 12, 31, 10), 2)
    assert due.at == at(2027, 1, 4, 10) and due.flagged and due.uncovered_years == {2027}
    inside = cal.add_working_days(at(2026, 12, 1, 10), 5)
    assert not inside.flagged
    seconds, years = cal.working_seconds_between(at(2026, 12, 30, 8, 30), at(2027, 1, 5, 8, 30))
    assert years == {2027} and seconds == 4 * 7.5 * 3600
    entered = WorkCalendar(
        [*cal.special.values(), *(_day(2027, 1, 1, "元旦"),)], [*cal.covered_years, 2027]
    )
    fixed = entered.add_working_days(at(2026, 12, 31, 10), 2)
    assert fixed.at == at(2027, 1, 5, 10) and not fixed.flagged


def _day(y: int, m: int, d: int, name: str) -> SpecialDay:
    return SpecialDay(date(y, m, d), DayKind.holiday, name)


def test_negative_spans(cal: WorkCalendar) -> None:
    a, b = at(2026, 11, 23, 9, 0), at(2026, 11, 24, 9, 0)
    assert (
        cal.working_seconds_between(b, a)[0] == -cal.working_seconds_between(a, b)[0] == -7.5 * 3600
    )


working_moments = st.builds(
    lambda day, minute: at(2026, 1, 1) + timedelta(days=day, minutes=minute),
    st.integers(0, 360),
    st.integers(0, 24 * 60 - 1),
)


@settings(max_examples=200, deadline=None)
@given(ts=working_moments, h1=st.floats(0, 200), h2=st.floats(0, 200))
@example(ts=at(2026, 1, 1), h1=45.0, h2=0.0)  # lands exactly at the end of a working day
def test_adding_hours_composes(cal: WorkCalendar, ts: datetime, h1: float, h2: float) -> None:
    once = cal.add_working_hours(ts, h1 + h2).at
    twice = cal.add_working_hours(cal.add_working_hours(ts, h1).at, h2).at
    assert abs((once - twice).total_seconds()) < 1e-3
    start = cal.add_working_hours(ts, 0).at
    span, _ = cal.working_seconds_between(start, cal.add_working_hours(ts, h1).at)
    assert abs(span - h1 * 3600) < 1e-3
