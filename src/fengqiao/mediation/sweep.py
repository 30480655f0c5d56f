"""The mediation sweep: the reminders of the case table (time limit near, passed; the
judicial confirmation's day 20), each sent once, found through `next_sweep_at`."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.core import clock
from fengqiao.core.workcalendar import WorkCalendar
from fengqiao.core.workflow import NoPayload
from fengqiao.mediation.enums import CaseState
from fengqiao.mediation.flows import CASE, TIMED
from fengqiao.mediation.models import Case


def due_reminder(case: Case) -> str | None:
    """The reminder the case is due now, if any."""
    if case.state in TIMED and case.due_on is not None:
        if case.reminded is None:
            return "due_soon"
        if case.reminded == "due_soon":
            return "overdue"
        return None
    if case.state == CaseState.effective and case.confirmation_applied_at is None:
        return "confirmation_reminder"
    return None


def sweep(session: Session, cal: WorkCalendar, limit: int = 500) -> int:
    """Sends what is due; returns how many cases were reminded."""
    due = list(
        session.scalars(
            select(Case)
            .where(Case.next_sweep_at <= clock.now())
            .order_by(Case.next_sweep_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    sent = 0
    for case in due:
        action = due_reminder(case)
        if (
            action == "due_soon"
            and case.due_on is not None
            and clock.now().astimezone(clock.zone()).date() > case.due_on
        ):
            action = "overdue"  # the sweep was away: say the worse at once
        if action is None:
            case.next_sweep_at = None
            continue
        case.reminded = action
        t = CASE.transitions[action]
        CASE.apply(session, None, cal, case, t, NoPayload(), t.label.zh)
        sent += 1
    session.commit()
    return sent
