"""A person's own inbox in the app: the notifications addressed to them (`user:{id}`),
named in the caller's language by the workflow whose step each announces."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.core.permissions import Principal
from fengqiao.core.workflow import WORKFLOWS
from fengqiao.notify.models import OutboxMessage
from fengqiao.notify.schemas import InboxItem


def read_inbox(
    session: Session, principal: Principal, limit: int = 50, offset: int = 0
) -> list[OutboxMessage]:
    """What was sent to the caller themselves (user:{id}), newest first: the app's inbox."""
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.recipient == f"user:{principal.user_id}")
            .order_by(OutboxMessage.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )


def inbox_out(messages: list[OutboxMessage], lang: str) -> list[InboxItem]:
    """Each message as the app shows it: what happened named by its workflow's table, in
    the caller's language (the stored text is the SMS's, in Chinese)."""
    out = []
    for m in messages:
        workflow, _, action = m.topic.partition(".")
        flow = WORKFLOWS.get(workflow)
        t = flow.transitions.get(action) if flow else None
        out.append(
            InboxItem(
                id=m.id,
                topic=m.topic,
                workflow=workflow,
                action=action,
                label=t.label(lang) if t else action,
                number=m.payload.get("number"),
                title=m.payload.get("title"),
                created_at=m.created_at,
            )
        )
    return out
