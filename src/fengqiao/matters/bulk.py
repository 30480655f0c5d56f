"""Bulk actions from a list: one action on many matters, each in its own transaction, with
what became of each. A matter that cannot take it is named with the reason and the others
go ahead."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from fengqiao.core.errors import AppError, Conflict
from fengqiao.core.permissions import Principal
from fengqiao.core.workcalendar import WorkCalendar
from fengqiao.matters.lifecycle import MATTER
from fengqiao.matters.models import Matter
from fengqiao.matters.queries import read_matter
from fengqiao.matters.schemas import BulkFailure, BulkIn, BulkOut

NO_SUGGESTION = Conflict(
    "没有建议的处置单位，请逐件选择单位派遣",
    "No unit is suggested; dispatch it on its own with a unit chosen",
)


def steps(
    principal: Principal, matter: Matter, action: str, payload: Mapping[str, Any]
) -> list[str]:
    """The actions that make up `action` for this matter. A dispatch with no unit named
    goes to the routing's suggestion, and accepts a matter not yet accepted first."""
    if action != "dispatch":
        return [action]
    if not payload.get("unit_code") and not (matter.suggestion or {}).get("unit_id"):
        raise NO_SUGGESTION
    allowed = MATTER.allowed(principal, matter)
    if "dispatch" not in allowed and "accept" in allowed:
        return ["accept", "dispatch"]
    return ["dispatch"]


def bulk_act(
    session: Session,
    principal: Principal,
    cal: WorkCalendar,
    body: BulkIn,
    lang: str,
    act: Callable[[Session, Principal, WorkCalendar, int, str, Mapping[str, Any]], Matter],
) -> BulkOut:
    """`body.action` on each of `body.ids` in turn, through `act` (the service's one action)."""
    MATTER.transition(body.action)  # 422 for an unknown action, before anything is done
    done: list[int] = []
    failed: list[BulkFailure] = []
    statuses: set[int] = set()
    for matter_id in dict.fromkeys(body.ids):
        number = None
        try:
            matter = read_matter(session, principal, matter_id)
            number = matter.number
            for step in steps(principal, matter, body.action, body.payload):
                act(session, principal, cal, matter_id, step, body.payload)
            done.append(matter_id)
        except AppError as exc:
            session.rollback()
            statuses.add(exc.status)
            failed.append(
                BulkFailure(id=matter_id, number=number, code=exc.code, message=exc.message(lang))
            )
    if not done:
        # Nothing was done: the request as a whole is refused (and changed nothing).
        first = failed[0]
        raise AppError(
            "所选 {n} 件均未办理。{number}：{reason}",
            "None of the {n} matters was acted on. {number}: {reason}",
            code=first.code,
            status=statuses.pop() if len(statuses) == 1 else 409,
            n=len(failed),
            number=first.number or f"#{first.id}",
            reason=first.message,
        )
    return BulkOut(done=done, failed=failed)
