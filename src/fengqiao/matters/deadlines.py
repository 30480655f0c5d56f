"""Deadlines: each stage's due time from the deadline policy and the working calendar,
and when the supervision ladder looks at a matter next."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from fengqiao.core import clock
from fengqiao.core.workcalendar import WorkCalendar
from fengqiao.matters.enums import MatterState as S
from fengqiao.matters.enums import Supervision
from fengqiao.matters.models import DeadlinePolicy, Matter


def policy_for(session: Session, category: str | None, urgency: str) -> DeadlinePolicy | None:
    rows = session.scalars(
        select(DeadlinePolicy).where(
            DeadlinePolicy.urgency == urgency,
            or_(DeadlinePolicy.category_code == category, DeadlinePolicy.category_code.is_(None)),
        )
    ).all()
    specific = [p for p in rows if p.category_code is not None]
    candidates = specific or list(rows)
    return candidates[0] if candidates else None


def _due(
    cal: WorkCalendar, start: datetime, amount: float | None, basis: str
) -> tuple[datetime | None, bool]:
    if amount is None:
        return None, False
    if basis == "natural":
        return start + timedelta(hours=amount), False
    if float(amount).is_integer():
        deadline = cal.add_working_days(start, int(amount))
    else:
        deadline = cal.add_working_hours(start, amount * cal.hours.seconds_per_day / 3600)
    return deadline.at, deadline.flagged


DUE_FIELDS = ("sign_due_at", "onsite_due_at", "reply_due_at", "resolve_due_at")


def deadlines(cal: WorkCalendar, policy: DeadlinePolicy | None, start: datetime) -> dict[str, Any]:
    """The due time of each stage for a matter dispatched at `start`, and whether any of
    them fell in a year the calendar has no data for."""
    out: dict[str, Any] = dict.fromkeys(DUE_FIELDS)
    out["due_flagged"] = False
    if policy is None:
        return out
    amounts = (policy.sign, policy.onsite, policy.reply, policy.resolve)
    for name, amount in zip(DUE_FIELDS, amounts, strict=True):
        out[name], flagged = _due(cal, start, amount, policy.basis)
        out["due_flagged"] |= flagged
    return out


def set_deadlines(session: Session, cal: WorkCalendar, matter: Matter, start: datetime) -> None:
    policy = policy_for(session, matter.category_code, matter.urgency)
    for name, value in deadlines(cal, policy, start).items():
        setattr(matter, name, value)


# A matter taken back from its unit: no deadline runs, no supervision.
CLEARED_DEADLINES: dict[str, Any] = {
    **dict.fromkeys(DUE_FIELDS),
    "next_sweep_at": None,
    "supervision": Supervision.none,
    "extension_until": None,
}


def clear_deadlines(matter: Matter) -> None:
    for key, value in CLEARED_DEADLINES.items():
        setattr(matter, key, value)


def next_sweep(matter: Matter) -> datetime | None:
    if matter.state == S.dispatched:
        return matter.sign_due_at
    if matter.state == S.in_progress:
        return matter.resolve_due_at
    return None


def ladder_next(
    session: Session,
    cal: WorkCalendar,
    key: tuple[str | None, str],
    policies: dict[tuple[str | None, str], DeadlinePolicy | None] | None = None,
) -> datetime:
    """When the supervision ladder looks again at a matter of this (category, urgency)."""
    if policies is None or key not in policies:
        policy = policy_for(session, *key)
        if policies is not None:
            policies[key] = policy
    else:
        policy = policies[key]
    hours = policy.ladder_hours if policy else 4.0
    return cal.add_working_hours(clock.now(), hours).at


# ---------------------------------------------------------------- time left


def due_at(matter: Matter) -> datetime | None:
    """The deadline of the stage the matter is in: signing while dispatched, resolving
    once signed; none in the other states."""
    if matter.state == S.dispatched:
        return matter.sign_due_at
    if matter.state == S.in_progress:
        return matter.resolve_due_at
    return None


def time_left_minutes(cal: WorkCalendar, due: datetime, now: datetime) -> int:
    """Working minutes on the calendar from `now` to `due`; negative once past it."""
    seconds, _ = cal.working_seconds_between(now, due)
    return math.floor(seconds / 60)


def say_time_left(cal: WorkCalendar, minutes: int, lang: str) -> str:
    """剩余 5 小时 / 超期 17 小时: minutes under an hour, hours under two working days,
    working days beyond."""
    late, m = minutes < 0, abs(minutes)
    day = max(1, round(cal.hours.seconds_per_day / 60))
    if m < 60:
        amount = (f"{m} 分钟", f"{m} min")
    elif m < 2 * day:
        amount = (f"{m // 60} 小时", f"{m // 60} h")
    else:
        amount = (f"{m // day} 个工作日", f"{m // day} working days")
    if lang == "en":
        return f"{amount[1]} {'overdue' if late else 'left'}"
    return f"{'超期' if late else '剩余'} {amount[0]}"
