"""Reading matters, always within the caller's jurisdiction (`scoped_matters` is the rule;
every `read_…` applies it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from fengqiao.core import audit, clock
from fengqiao.core.errors import Invalid, NotFound
from fengqiao.core.permissions import GRID_STAFF, Action, Principal, Role, within
from fengqiao.geo.models import Grid, Region
from fengqiao.geo.service import find_place_unscoped
from fengqiao.matters.actors import waiting_on
from fengqiao.matters.enums import OPEN_STATES
from fengqiao.matters.enums import MatterState as S
from fengqiao.matters.enums import Urgency as U
from fengqiao.matters.models import Matter, TimelineEntry

# The roles that see the matters of their jurisdiction (the others: a unit its tasks, a
# resident their own).
AREA_READERS = (
    Role.dispatcher,
    Role.leader,
    Role.admin,
    Role.maritime_officer,
    Role.mediator,
    *GRID_STAFF,
)


def scoped_matters(principal: Principal) -> Select[Matter]:
    """What the caller may see: their jurisdiction; a unit its tasks; a resident their own."""
    clauses = []
    if principal.has_any(*AREA_READERS):
        clauses.append(principal.scope(Matter.region_path))
    if principal.has_any(Role.unit_handler) and principal.unit_id is not None:
        clauses.append(Matter.unit_id == principal.unit_id)
    clauses.append(Matter.reporter_id == principal.user_id)
    return select(Matter).where(or_(*clauses))


def sees(
    principal: Principal, region_path: str, unit_id: int | None, reporter_id: int | None
) -> bool:
    """`scoped_matters`' rule for a matter whose place, unit and reporter are in hand."""
    return (
        (principal.has_any(*AREA_READERS) and principal.covers(region_path))
        or (
            principal.has_any(Role.unit_handler)
            and principal.unit_id is not None
            and unit_id == principal.unit_id
        )
        or reporter_id == principal.user_id
    )


def read_matter(session: Session, principal: Principal, matter_id: int) -> Matter:
    matter = session.scalar(scoped_matters(principal).where(Matter.id == matter_id))
    if matter is None:
        raise NotFound("事件", "matter")
    return matter


def timeline(session: Session, matter: Matter) -> list[TimelineEntry]:
    return list(
        session.scalars(
            select(TimelineEntry)
            .where(TimelineEntry.matter_id == matter.id)
            .order_by(TimelineEntry.id)
        )
    )


def overdue_clause(now: datetime) -> Any:
    return or_(
        and_(Matter.state == S.dispatched.value, Matter.sign_due_at < now),
        and_(Matter.state == S.in_progress.value, Matter.resolve_due_at < now),
    )


@dataclass
class MatterFilter:
    states: list[str] = field(default_factory=list)
    category: str | None = None
    level: int | None = None
    region_code: str | None = None
    unit_id: int | None = None
    overdue: bool | None = None
    channel: str | None = None
    urgency: str | None = None
    reported_from: datetime | None = None
    reported_to: datetime | None = None
    q: str | None = None
    phone: str | None = None  # the reporter's, exact
    pending: bool = False  # only requests awaiting the caller's decision (待我审批)
    pin_urgent: bool = False  # urgent and critical matters nobody has taken yet come first
    sort: str = "-reported_at"
    limit: int = 50
    offset: int = 0


# The deadline of the stage a matter is in: signing while dispatched, resolving after.
DUE_AT = case(
    (Matter.state == S.dispatched.value, Matter.sign_due_at),
    (Matter.state == S.in_progress.value, Matter.resolve_due_at),
    else_=None,
)
# Not yet taken by anyone and urgent: pinned above routine matters.
PINNED_URGENCIES = (U.urgent.value, U.critical.value)
PINNED = and_(Matter.state == S.reported.value, Matter.urgency.in_(PINNED_URGENCIES))


def is_pinned(state: str, urgency: str) -> bool:
    """PINNED for a matter in hand."""
    return state == S.reported.value and urgency in PINNED_URGENCIES


SORTS: dict[str, Any] = {
    "reported_at": Matter.reported_at,
    "due_at": DUE_AT,
    "resolve_due_at": Matter.resolve_due_at,
    "sign_due_at": Matter.sign_due_at,
    "updated_at": Matter.updated_at,
    "id": Matter.id,
}


def _filtered(session: Session, principal: Principal, f: MatterFilter) -> Select[Matter]:
    stmt = scoped_matters(principal)
    if f.states:
        stmt = stmt.where(Matter.state.in_(f.states))
    if f.category:
        stmt = stmt.where(Matter.category_code == f.category)
    if f.level is not None:
        stmt = stmt.where(Matter.level == f.level)
    if f.region_code:
        place = find_place_unscoped(session, code=f.region_code)
        if place is None:
            raise NotFound("行政区划", "region")
        stmt = stmt.where(within(Matter.region_path, place.path))
    if f.unit_id is not None:
        stmt = stmt.where(Matter.unit_id == f.unit_id)
    if f.overdue is not None:
        clause = overdue_clause(clock.now())
        stmt = stmt.where(clause if f.overdue else ~clause)
    if f.channel:
        stmt = stmt.where(Matter.channel == f.channel)
    if f.urgency:
        stmt = stmt.where(Matter.urgency == f.urgency)
    if f.reported_from:
        stmt = stmt.where(Matter.reported_at >= f.reported_from)
    if f.reported_to:
        stmt = stmt.where(Matter.reported_at < f.reported_to)
    if f.q:
        like = f"%{escape_like(f.q)}%"
        text_of = (Matter.title, Matter.description, Matter.number, Matter.reporter_name)
        named_place = select(Region.id).where(
            Region.name.ilike(like, escape="\\"), Matter.region_path.startswith(Region.path)
        )
        stmt = stmt.where(
            or_(
                *(column.ilike(like, escape="\\") for column in text_of),
                Matter.address.ilike(like, escape="\\"),
                Matter.grid_id.in_(select(Grid.id).where(Grid.name.ilike(like, escape="\\"))),
                named_place.exists(),
            )
        )
    if f.phone:
        stmt = stmt.where(Matter.reporter_phone == f.phone)
    if f.pending:
        stmt = stmt.where(waiting_on(principal))
    return stmt


def escape_like(text: str) -> str:
    """`text` matched literally inside a LIKE pattern."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def read_matters(
    session: Session, principal: Principal, f: MatterFilter
) -> tuple[list[Matter], int]:
    if f.phone:
        # Finding people by their number is reading personal data.
        principal.require(Action.pii_read)
    stmt = _filtered(session, principal, f)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    if f.phone:
        audit.record(
            session,
            "search_personal_data",
            "event",
            None,
            region_path=principal.scope_path,
            detail={"fields": ["reporter_phone"], "found": total},
        )
        session.commit()
    key = f.sort.lstrip("-")
    if key not in SORTS:
        raise Invalid("不支持的排序字段 {k}", "Unknown sort field {k}", k=key)
    column = SORTS[key]
    # Matters with no running deadline sort after those with one, either way.
    order = column.desc().nulls_last() if f.sort.startswith("-") else column.asc().nulls_last()
    first = [case((PINNED, 0), else_=1)] if f.pin_urgent else []
    rows = session.scalars(
        stmt.order_by(*first, order, Matter.id.desc()).limit(f.limit).offset(f.offset)
    )
    return list(rows), total


def read_state_counts(session: Session, principal: Principal, f: MatterFilter) -> dict[str, int]:
    """Matters per state under the same filters (for the inbox's tabs)."""
    base = _filtered(session, principal, f).subquery()
    rows = session.execute(select(base.c.state, func.count()).group_by(base.c.state)).all()
    return {str(state): int(n) for state, n in rows}


@dataclass(frozen=True)
class GridCount:
    grid_code: str
    open: int
    overdue: int


def read_grid_counts(session: Session, principal: Principal) -> list[GridCount]:
    """Open and overdue matters per grid among those the caller may see (the map's
    colours), in one GROUP BY. Grids with no open matter are left out."""
    overdue = overdue_clause(clock.now())
    rows = session.execute(
        scoped_matters(principal)
        .with_only_columns(
            Grid.code,
            func.count(),
            func.coalesce(func.sum(case((overdue, 1), else_=0)), 0),
        )
        .join_from(Matter, Grid, Grid.id == Matter.grid_id)
        .where(Matter.state.in_([s.value for s in OPEN_STATES]))
        .group_by(Grid.code)
        .order_by(Grid.code)
    ).all()
    return [GridCount(str(code), int(n), int(late)) for code, n, late in rows]


def read_reporter_phone(
    session: Session, principal: Principal, matter: Matter, masked: str | None
) -> str | None:
    """The reporter's phone in full (audited) for roles that may see personal data, and
    for the handlers of the unit the matter is with, who call the reporter back."""
    calls_back = (
        Role.unit_handler in principal.roles
        and principal.unit_id is not None
        and matter.unit_id == principal.unit_id
        and matter.state in {s.value for s in OPEN_STATES}
    )
    if matter.reporter_phone and (principal.can(Action.pii_read) or calls_back):
        audit.record(
            session,
            "read_personal_data",
            "event",
            matter.id,
            region_path=matter.region_path,
            detail={"fields": ["reporter_phone"]},
        )
        session.commit()
        return matter.reporter_phone
    return masked


def visible_duplicates(
    session: Session, principal: Principal, matter: Matter
) -> list[dict[str, Any]]:
    """The possible duplicates of a matter that this caller may see."""
    found = matter.possible_duplicates or []
    if not found:
        return []
    ids = set(
        session.scalars(
            scoped_matters(principal)
            .where(Matter.id.in_([d["id"] for d in found]))
            .with_only_columns(Matter.id)
        )
    )
    return [d for d in found if d["id"] in ids]


def is_overdue(matter: Matter, now: datetime) -> bool:
    """Past the deadline of the stage it is in (signing or resolving)."""
    if matter.state == S.dispatched:
        return bool(matter.sign_due_at and matter.sign_due_at < now)
    if matter.state == S.in_progress:
        return bool(matter.resolve_due_at and matter.resolve_due_at < now)
    return False


def place_names_unscoped(session: Session, paths: set[str]) -> dict[str, str]:
    """The name of the deepest region along each path (a matter's village or community),
    for matters already read within the caller's jurisdiction."""
    # Paths are codes each followed by "/": 330305/330305001/…
    prefixes = {
        "".join(f"{code}/" for code in parts[: i + 1])
        for path in paths
        for parts in [path.strip("/").split("/")]
        for i in range(len(parts))
    }
    if not prefixes:
        return {}
    rows = session.execute(select(Region.path, Region.name).where(Region.path.in_(prefixes)))
    names: dict[str, str] = {path: name for path, name in rows}
    out: dict[str, str] = {}
    for path in paths:
        best = max((p for p in names if path.startswith(p)), key=len, default=None)
        if best is not None:
            out[path] = names[best]
    return out
