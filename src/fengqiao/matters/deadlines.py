"""Deadlines: each stage's due time from the deadline policy and the working calendar,
and when the supervision ladder looks at a matter next."""

from __future__ import annotations

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
