"""A case's messages: the joint thread, and each party's private caucus with the
mediators (背靠背), which no other party may read. Every read of a thread is audited."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.core import audit, clock
from fengqiao.core.errors import Conflict, Invalid, NotFound
from fengqiao.core.permissions import Principal
from fengqiao.mediation import actions as do
from fengqiao.mediation.actors import C, M, P, actors_of
from fengqiao.mediation.enums import ENDED_STATES, PartyRole, Thread
from fengqiao.mediation.models import Case, Message, Party
from fengqiao.mediation.schemas import MessageOut, ThreadOut

# The mediators of the case, and during consultation the committee's consultants.
MEDIATING = frozenset({M, C})


def caucus(party_id: int) -> str:
    return f"{Thread.caucus.value}:{party_id}"


def readable_threads(
    session: Session, principal: Principal, case: Case
) -> list[tuple[str, Party | None]]:
    """The threads the caller may read: a party the joint one and their own caucus (an
    agent that of the party they act for); the mediators every thread; nobody else any."""
    mine = actors_of(principal, case)
    parties = do.parties_of(session, case)
    if mine & MEDIATING:
        return [(Thread.joint.value, None)] + [
            (caucus(p.id), p) for p in parties if p.role != PartyRole.agent
        ]
    if P in mine:
        own = [p for p in parties if p.user_id == principal.user_id]
        threads: list[tuple[str, Party | None]] = [(Thread.joint.value, None)]
        for p in own:
            whose = next((x for x in parties if x.id == p.represents_id), p)
            threads.append((caucus(whose.id), whose))
        return threads
    return []


def _require(session: Session, principal: Principal, case: Case, thread: str) -> None:
    if thread not in {key for key, _ in readable_threads(session, principal, case)}:
        raise NotFound("沟通渠道", "thread")  # as if it did not exist: caucuses are private


def read_messages(
    session: Session, principal: Principal, case: Case, thread: str, after_id: int = 0
) -> list[Message]:
    _require(session, principal, case, thread)
    found = list(
        session.scalars(
            select(Message)
            .where(Message.case_id == case.id, Message.thread == thread, Message.id > after_id)
            .order_by(Message.id)
            .limit(500)
        )
    )
    audit.record(
        session,
        "read_messages",
        "mediation_case",
        case.id,
        region_path=case.region_path,
        detail={"thread": thread, "messages": len(found)},
    )
    session.commit()
    return found


def post_message(
    session: Session, principal: Principal, case: Case, thread: str, body: str
) -> Message:
    if case.state in ENDED_STATES:
        raise Conflict("案件已结束，不能再发送消息", "The case has ended: no more messages")
    if not thread.startswith(Thread.caucus.value) and thread != Thread.joint.value:
        raise Invalid("没有这个沟通渠道", "No such thread", field="thread")
    _require(session, principal, case, thread)
    message = Message(
        case_id=case.id,
        thread=thread,
        author_id=principal.user_id,
        author_name=principal.display_name,
        body=body,
        at=clock.now(),
    )
    session.add(message)
    session.commit()
    return message


def threads_out(session: Session, principal: Principal, case: Case, lang: str) -> list[ThreadOut]:
    out = []
    for key, party in readable_threads(session, principal, case):
        if party is None:
            out.append(ThreadOut(key=key, name=Thread.joint.label(lang), party_id=None))
        else:
            name = f"{Thread.caucus.label(lang)} · {party.name}"
            out.append(ThreadOut(key=key, name=name, party_id=party.id))
    return out


def message_out(principal: Principal, message: Message) -> MessageOut:
    return MessageOut(
        id=message.id,
        thread=message.thread,
        author_name=message.author_name,
        mine=message.author_id == principal.user_id,
        body=message.body,
        at=message.at,
    )
