"""Who, relative to a case, may act on it: the actor kinds of the case's table, in Python
for one case (`actors_of`) and in SQL for the cases a caller may read (`case_scope`).
These two are the one rule of a case's jurisdiction."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.orm import Session, object_session

from fengqiao.core.labels import Label
from fengqiao.core.permissions import Action, Principal, Role
from fengqiao.mediation.enums import Position
from fengqiao.mediation.models import Case, Mediator, Party

P = "party"  # a party to the case, signed in as themselves
M = "mediator"  # the case's presiding mediator or one of its other mediators
H = "head"  # the chair or a vice chair of the case's committee (who accepts and assigns)
C = "consultant"  # any mediator of the case's committee (online consultation)
OV = "overseer"  # a dispatcher, leader or administrator whose jurisdiction covers the case
ACTORS = {
    P: Label("当事人", "Party"),
    M: Label("承办调解员", "Case mediator"),
    H: Label("调委会负责人", "Committee head"),
    C: Label("调委会咨询员", "Committee consultant"),
    OV: Label("属地管理", "Overseer"),
}
OVERSEEING = frozenset({Role.dispatcher, Role.leader, Role.admin})
HEADS = frozenset({Position.chair, Position.vice_chair})


def mediator_of(session: Session, principal: Principal) -> Mediator | None:
    """The caller's own mediator record (active), if they are a mediator."""
    if Role.mediator not in principal.roles:
        return None
    return session.scalar(
        select(Mediator).where(Mediator.user_id == principal.user_id, Mediator.is_active.is_(True))
    )


def case_mediators(case: Case) -> list[int]:
    return ([case.presiding_id] if case.presiding_id else []) + list(case.co_mediator_ids or [])


def actors_of(principal: Principal, case: Case) -> set[str]:
    """In which capacities the caller stands towards the case."""
    session = object_session(case)
    assert session is not None, "a case is read through a session"
    mine: set[str] = set()
    party_users = session.scalars(select(Party.user_id).where(Party.case_id == case.id))
    if principal.user_id in set(party_users):
        mine.add(P)
    me = mediator_of(session, principal)
    if me is not None and me.committee_id == case.committee_id:
        mine.add(C)
        if me.id in case_mediators(case):
            mine.add(M)
        if me.position in HEADS:
            mine.add(H)
    if principal.roles & OVERSEEING and principal.covers(case.region_path):
        mine.add(OV)
    return mine


def case_scope(principal: Principal) -> ColumnElement[bool]:
    """`actors_of` in SQL: the cases the caller may read. Overseers read those of their
    jurisdiction, mediators those of their committee, a party their own; a grid worker
    sees only that their matter went to mediation (on the matter's timeline)."""
    clauses: list[ColumnElement[bool]] = [
        Case.id.in_(select(Party.case_id).where(Party.user_id == principal.user_id))
    ]
    if Role.mediator in principal.roles:
        clauses.append(
            Case.committee_id.in_(
                select(Mediator.committee_id).where(
                    Mediator.user_id == principal.user_id, Mediator.is_active.is_(True)
                )
            )
        )
    if principal.roles & OVERSEEING and principal.can(Action.mediation_read):
        clauses.append(principal.scope(Case.region_path))
    return or_(*clauses) if clauses else false()
