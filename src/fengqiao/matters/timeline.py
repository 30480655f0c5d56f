"""What a change of a matter leaves behind: its timeline entry and its notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from fengqiao.core import clock
from fengqiao.core.labels import Label
from fengqiao.core.permissions import Principal
from fengqiao.core.workflow import Transition
from fengqiao.matters.models import Matter, TimelineEntry
from fengqiao.notify import service as notify

# The actor_name stored for a step the system takes itself (no actor_id), answered by
# language at read time.
SYSTEM_ACTOR = "系统 system"
SYSTEM_NAME = Label("系统", "System")


def entry(
    session: Session,
    matter: Matter,
    principal: Principal | None,
    action: str,
    from_state: str | None,
    reason: str | None,
    detail: dict[str, Any],
) -> TimelineEntry:
    """One timeline entry, to the state the matter is in now."""
    row = TimelineEntry(
        matter_id=matter.id,
        at=clock.now(),
        actor_id=principal.user_id if principal else None,
        actor_name=principal.display_name if principal else SYSTEM_ACTOR,
        action=action,
        from_state=from_state,
        to_state=matter.state,
        reason=reason,
        detail=detail,
    )
    session.add(row)
    return row


def message(matter_id: int, number: str, title: str, state: str, t: Transition) -> dict[str, Any]:
    """A notification's payload; its text (an SMS's words) names the action in Chinese."""
    return {
        "matter_id": matter_id,
        "number": number,
        "title": title,
        "state": state,
        "action": t.name,
        "text": f"【枫桥】{number} {title}：{t.label.zh}",
    }


def enqueue(session: Session, matter: Matter, t: Transition, recipients: list[str]) -> None:
    notify.enqueue(
        session,
        topic=f"matter.{t.name}",
        # One change of one matter: its version (bumped on every write) and the action.
        key=f"e{matter.id}.{matter.version}.{t.name}",
        recipients=recipients,
        matter_id=matter.id,
        region_path=matter.region_path,
        payload=message(matter.id, matter.number, matter.title, matter.state, t),
    )


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
