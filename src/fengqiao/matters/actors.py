"""Who, relative to a matter, may act on it: the actor kinds of the closed loop's table,
in Python for one matter (`actors_of`) and in SQL for the requests awaiting a caller
(`waiting_on`)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_

from fengqiao.core.labels import Label
from fengqiao.core.levels import path_level
from fengqiao.core.permissions import GRID_STAFF, Principal, Role
from fengqiao.matters.models import Matter

# Who, relative to the matter, may act.
D = "dispatcher"  # a dispatcher (or leader) whose jurisdiction covers it, at or above its level
U = "unit"  # a handler of the unit it is assigned to
G = "grid"  # grid staff of its grid (or above it)
R = "reporter"  # whoever reported it
ACTORS = {
    D: Label("指挥调度", "Dispatcher"),
    U: Label("承办单位", "Responsible unit"),
    G: Label("网格员", "Grid staff"),
    R: Label("上报人", "Reporter"),
}
DISPATCHING = frozenset({Role.dispatcher, Role.leader, Role.admin})


def actors_of(principal: Principal, record: Matter) -> set[str]:
    """In which capacities the caller stands towards the matter."""
    mine: set[str] = set()
    if (
        principal.roles & DISPATCHING
        and principal.covers(record.region_path)
        and path_level(principal.scope_path or "") >= record.level
    ):
        mine.add(D)
    if (
        Role.unit_handler in principal.roles
        and record.unit_id is not None
        and principal.unit_id == record.unit_id
    ):
        mine.add(U)
    if principal.roles & GRID_STAFF and principal.covers(record.region_path):
        mine.add(G)
    if record.reporter_id == principal.user_id:
        mine.add(R)
    return mine


def waiting_on(principal: Principal) -> ColumnElement[bool]:
    """`actors_of` in SQL, for the actor a pending request waits on: the matters whose
    request awaits the caller's decision (待我审批)."""
    clauses: list[ColumnElement[bool]] = []
    if principal.roles & DISPATCHING:
        level = path_level(principal.scope_path or "")
        clauses.append(
            and_(
                Matter.pending_actor == D,
                principal.scope(Matter.region_path),
                Matter.level <= level,
            )
        )
    if principal.roles & GRID_STAFF:
        clauses.append(and_(Matter.pending_actor == G, principal.scope(Matter.region_path)))
    if Role.unit_handler in principal.roles and principal.unit_id is not None:
        clauses.append(and_(Matter.pending_actor == U, Matter.unit_id == principal.unit_id))
    return or_(*clauses) if clauses else false()
