"""The Chinese working-day calendar: statutory holidays, adjusted working days (调休) and
office hours. Deadlines such as "sign within 1 working day" are computed here.

A year without holiday data never raises: it falls back to Monday–Friday, and every result
that relied on such a year says so (`uncovered_years`), so administrators are told to enter
that year's State Council notice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo

from fengqiao.core import clock
from fengqiao.core.labels import Label


class DayKind(StrEnum):
    holiday = "holiday"  # 法定节假日: no work, even on a weekday
    workday = "workday"  # 调休上班: work, even on a weekend


@dataclass(frozen=True)
class SpecialDay:
    day: date
    kind: DayKind
    name: str


@dataclass(frozen=True)
class WorkingHours:
    periods: tuple[tuple[time, time], ...] = (
        (time(8, 30), time(12, 0)),
        (time(13, 30), time(17, 30)),
    )

    @property
    def seconds_per_day(self) -> float:
        return sum(_seconds(b) - _seconds(a) for a, b in self.periods)


@dataclass(frozen=True)
class Deadline:
    at: datetime
    uncovered_years: frozenset[int] = frozenset()

    @property
    def flagged(self) -> bool:
        return bool(self.uncovered_years)


@dataclass(frozen=True)
class DayInfo:
    is_working: bool
    covered: bool
    name: str | None


def _seconds(t: time) -> float:
    return t.hour * 3600 + t.minute * 60 + t.second + t.microsecond / 1e6


class WorkCalendar:
    def __init__(
        self,
        special_days: Iterable[SpecialDay],
        covered_years: Iterable[int],
        tz: ZoneInfo | None = None,
        hours: WorkingHours | None = None,
    ) -> None:
        self.special = {d.day: d for d in special_days}
        self.covered_years = frozenset(covered_years)
        self.tz = tz or clock.zone()
        self.hours = hours or WorkingHours()
        self._day_seconds = self.hours.seconds_per_day

    # ------------------------------------------------------------ days

    def day_info(self, d: date) -> DayInfo:
        covered = d.year in self.covered_years
        special = self.special.get(d) if covered else None
        if special is not None:
            return DayInfo(special.kind is DayKind.workday, True, special.name)
        return DayInfo(d.weekday() < 5, covered, None)

    def is_working_day(self, d: date) -> bool:
        return self.day_info(d).is_working

    # ------------------------------------------------------------ helpers

    def _local(self, ts: datetime) -> datetime:
        if ts.tzinfo is None:
            raise ValueError("naive datetime: give a time zone")
        return ts.astimezone(self.tz)

    def _at(self, d: date, t: time) -> datetime:
        return datetime.combine(d, t, tzinfo=self.tz)

    def _worked_before(self, ts: datetime) -> float:
        """Working seconds of ts's day before ts (ts on a working day)."""
        s = _seconds(ts.timetz().replace(tzinfo=None))
        total = 0.0
        for a, b in self.hours.periods:
            total += max(0.0, min(s, _seconds(b)) - _seconds(a))
        return total

    def _point_in_day(self, d: date, worked: float) -> datetime:
        """The moment on working day d after `worked` working seconds (0 < worked ≤ day)."""
        left = worked
        for a, b in self.hours.periods:
            span = _seconds(b) - _seconds(a)
            if left <= span:
                start = self._at(d, a)
                return start + timedelta(seconds=left)
            left -= span
        return self._at(d, self.hours.periods[-1][1])

    def _normalise(self, ts: datetime, years: set[int]) -> datetime:
        """ts when it is in a working period (its end included: where adding hours that
        fill a period lands), else the start of the next one."""
        d = ts.date()
        if self._working_noted(d, years):
            s = _seconds(ts.timetz().replace(tzinfo=None))
            for a, b in self.hours.periods:
                if s < _seconds(a):
                    return self._at(d, a)
                if s <= _seconds(b):
                    return ts
        d = self._next_working(d, years)
        return self._at(d, self.hours.periods[0][0])

    def _next_working(self, d: date, years: set[int]) -> date:
        while True:
            d += timedelta(days=1)
            if self._working_noted(d, years):
                return d

    # ------------------------------------------------------------ arithmetic

    def add_working_days(self, ts: datetime, n: int) -> Deadline:
        """The same clock time on the n-th working day after ts (ts moved into working time
        first)."""
        if n < 0:
            raise ValueError("n must be ≥ 0")
        years: set[int] = set()
        start = self._normalise(self._local(ts), years)
        d = start.date()
        for _ in range(n):
            d = self._next_working(d, years)
        return Deadline(datetime.combine(d, start.timetz()), frozenset(years))

    def add_working_hours(self, ts: datetime, hours: float) -> Deadline:
        """ts plus `hours` of working time (only working periods of working days count)."""
        if hours < 0:
            raise ValueError("hours must be ≥ 0")
        years: set[int] = set()
        cur = self._normalise(self._local(ts), years)
        left = hours * 3600.0
        if left == 0:
            return Deadline(cur, frozenset(years))
        d = cur.date()
        done_today = self._worked_before(cur)
        if done_today + left <= self._day_seconds:
            return Deadline(self._point_in_day(d, done_today + left), frozenset(years))
        left -= self._day_seconds - done_today
        while True:
            d = self._next_working(d, years)
            if left <= self._day_seconds:
                return Deadline(self._point_in_day(d, left), frozenset(years))
            left -= self._day_seconds

    def working_seconds_between(self, a: datetime, b: datetime) -> tuple[float, frozenset[int]]:
        """Working seconds in [a, b); negative when b is before a."""
        a, b = self._local(a), self._local(b)
        if b < a:
            seconds, reverse_years = self.working_seconds_between(b, a)
            return -seconds, reverse_years
        years: set[int] = set()
        da, db = a.date(), b.date()

        def worked(d: date, ts: datetime) -> float:
            return self._worked_before(ts) if self._working_noted(d, years) else 0.0

        if da == db:
            return worked(db, b) - worked(da, a), frozenset(years)
        total = (self._day_seconds if self._working_noted(da, years) else 0.0) - worked(da, a)
        d = da + timedelta(days=1)
        while d < db:
            if self._working_noted(d, years):
                total += self._day_seconds
            d += timedelta(days=1)
        total += worked(db, b)
        return total, frozenset(years)

    def _working_noted(self, d: date, years: set[int]) -> bool:
        info = self.day_info(d)
        if not info.covered:
            years.add(d.year)
        return info.is_working


# An adjusted working day is named after its holiday.
WORKDAY_IN_LIEU = Label("{h}调休上班", "{h} (working day in lieu)")


@cache
def package_day_names() -> dict[str, Label]:
    """The Chinese names the package's days are stored under, each with its English one
    (the package names its holidays in both languages)."""
    from chinese_calendar.constants import Holiday

    holidays = [Label(str(h.chinese), str(h.value)) for h in Holiday]
    in_lieu = [
        Label(WORKDAY_IN_LIEU.zh.format(h=h.zh), WORKDAY_IN_LIEU.en.format(h=h.en))
        for h in holidays
    ]
    return {label.zh: label for label in holidays + in_lieu}


def special_days_from_package(years: Iterable[int]) -> tuple[list[SpecialDay], list[int]]:
    """Holidays and adjusted working days from the `chinese-calendar` package for the
    requested years it covers, and the list of those years."""
    import chinese_calendar
    from chinese_calendar.constants import Holiday

    wanted = set(years)
    known = {d.year for d in chinese_calendar.holidays}
    covered = sorted(wanted & known)

    def name(value: str) -> str:
        try:
            return str(Holiday(value).chinese)
        except ValueError:
            return value

    days = [
        SpecialDay(d, DayKind.holiday, name(v))
        for d, v in chinese_calendar.holidays.items()
        if d.year in covered
    ]
    days += [
        SpecialDay(d, DayKind.workday, WORKDAY_IN_LIEU.zh.format(h=name(v)))
        for d, v in chinese_calendar.workdays.items()
        if d.year in covered
    ]
    return sorted(days, key=lambda s: s.day), covered
