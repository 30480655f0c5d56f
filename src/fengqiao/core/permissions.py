"""Roles, what each may do, and the jurisdiction every query is limited to.

A jurisdiction is a path in the region tree (`330305/330305001/` is a township and all
below it; a grid worker's path ends in their grid's code) or a unit. Scoping is applied
inside the SQL query (`within`), never by filtering results afterwards.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, true

from fengqiao.core.errors import Forbidden, OutsideJurisdiction
from fengqiao.core.labels import LabelledStr


class Role(LabelledStr):
    grid_head = "grid_head", "网格长", "Grid head"
    grid_instructor = "grid_instructor", "网格指导员", "Grid instructor"
    grid_worker_fulltime = "grid_worker_fulltime", "专职网格员", "Full-time grid worker"
    grid_worker_parttime = "grid_worker_parttime", "兼职网格员", "Part-time grid worker"
    volunteer = "volunteer", "网格志愿者", "Grid volunteer"
    dispatcher = "dispatcher", "指挥中心派遣员", "Dispatcher"
    unit_handler = "unit_handler", "部门处置人员", "Unit handler"
    mediator = "mediator", "人民调解员", "Mediator"
    resident = "resident", "群众", "Resident"
    maritime_officer = "maritime_officer", "海上执法人员", "Maritime officer"
    leader = "leader", "领导", "Leader"
    admin = "admin", "系统管理员", "Administrator"


GRID_STAFF = frozenset(
    {Role.grid_head, Role.grid_instructor, Role.grid_worker_fulltime, Role.grid_worker_parttime}
)
STAFF = GRID_STAFF | {
    Role.volunteer,
    Role.dispatcher,
    Role.unit_handler,
    Role.mediator,
    Role.maritime_officer,
    Role.leader,
    Role.admin,
}


class Action(StrEnum):
    geo_read = "geo.read"
    geo_manage = "geo.manage"
    people_read = "people.read"
    people_manage = "people.manage"
    pii_read = "pii.read"
    units_read = "units.read"
    units_manage = "units.manage"
    calendar_read = "calendar.read"
    calendar_manage = "calendar.manage"
    audit_read = "audit.read"
    notify_manage = "notify.manage"  # see failed notifications and send them again
    mediation_read = "mediation.read"  # committees and mediators, with their contacts
    mediation_manage = "mediation.manage"


ACTIONS: dict[Role, frozenset[Action]] = {
    role: frozenset({Action.geo_read, Action.units_read, Action.calendar_read}) for role in STAFF
}
ACTIONS[Role.resident] = frozenset()
for _role in (Role.grid_head, Role.dispatcher, Role.leader):
    ACTIONS[_role] |= {Action.people_read}
ACTIONS[Role.dispatcher] |= {Action.pii_read}
ACTIONS[Role.leader] |= {Action.audit_read}
for _role in (Role.mediator, Role.dispatcher, Role.leader):
    ACTIONS[_role] |= {Action.mediation_read}
ACTIONS[Role.admin] = frozenset(Action)


def upper_bound(path: str) -> str:
    """First string after every path that starts with `path` ('/' + 1 == '0')."""
    if not path.endswith("/"):
        raise ValueError(f"path must end with '/': {path!r}")
    return path[:-1] + "0"


def ancestor_paths(path: str) -> list[str]:
    """'a/b/c/' → ['a/', 'a/b/'] (not itself); none for the root '/'."""
    parts = path.strip("/").split("/")
    return ["/".join(parts[:i]) + "/" for i in range(1, len(parts))] if path != "/" else []


def within(column: Any, path: str) -> ColumnElement[bool]:
    """`column` lies in the subtree at `path`: a range the index answers on any engine."""
    return and_(column >= path, column < upper_bound(path))


@dataclass(frozen=True)
class Principal:
    """Who is calling: their roles and jurisdiction."""

    user_id: int
    username: str
    display_name: str
    roles: frozenset[Role]
    scope_path: str | None = None
    unit_id: int | None = None
    session_id: int | None = None
    actions: frozenset[Action] = field(default=frozenset())

    def __post_init__(self) -> None:
        acts: frozenset[Action] = frozenset()
        for role in self.roles:
            acts |= ACTIONS.get(role, frozenset())
        object.__setattr__(self, "actions", acts)

    def can(self, action: Action) -> bool:
        return action in self.actions

    def require(self, action: Action) -> None:
        if action not in self.actions:
            raise Forbidden()

    def scope(self, path_column: Any) -> ColumnElement[bool]:
        """The jurisdiction filter for a table's region-path column. No path, no rows."""
        if self.scope_path is None:
            return false()
        if self.scope_path == "/":
            return true()
        return within(path_column, self.scope_path)

    def serving(self, path_column: Any) -> ColumnElement[bool]:
        """What serves the caller's area: rows inside the jurisdiction and rows of the
        regions above it (a county bureau or committee serves each of its townships)."""
        if self.scope_path is None:
            return false()
        return or_(self.scope(path_column), path_column.in_(ancestor_paths(self.scope_path)))

    def covers(self, path: str | None) -> bool:
        """The same test in Python, for a path already in hand."""
        if self.scope_path is None or path is None:
            return False
        return self.scope_path == "/" or path.startswith(self.scope_path)

    # The one rule for every write. An object with a place (a user, a unit, a grid, a
    # rule of a region) is changed only by a caller whose jurisdiction covers that
    # place; a setting with no place binds the whole installation (categories, deadline
    # policies, the holiday calendar, rules with no region) and is changed only by a
    # caller whose jurisdiction covers every top-level region.

    def may_write(self, path: str | None, roots: Collection[str] = ()) -> bool:
        if path is None:
            return self.covers_installation(roots)
        return self.covers(path)

    def covers_installation(self, roots: Collection[str]) -> bool:
        if self.scope_path == "/":
            return True
        return bool(roots) and all(self.covers(root) for root in roots)

    def require_write(self, path: str | None, roots: Collection[str] = ()) -> None:
        """Raises 403 unless `may_write`: the object is visible (it was read through the
        caller's scope, or lies above it) but not theirs to change."""
        if not self.may_write(path, roots):
            raise OutsideJurisdiction(installation_wide=path is None)

    def has_any(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))
