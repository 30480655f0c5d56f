"""The closed loop: intake, the lifecycle, routing, deadlines, supervision and search.

Every change of a matter is one transaction: the matter's row (its version checked, so of
two concurrent transitions exactly one wins), a timeline entry and its notifications.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import (
    CursorResult,
    Select,
    Table,
    and_,
    bindparam,
    case,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.util import identity_key

from fengqiao.classify import flows as classify
from fengqiao.core import audit, clock, images
from fengqiao.core.errors import AppError, Conflict, Forbidden, Invalid, NotFound
from fengqiao.core.levels import COUNTY, GRID, TOWNSHIP, ancestor_at, path_level
from fengqiao.core.models import Category
from fengqiao.core.permissions import GRID_STAFF, Action, Principal, Role, within
from fengqiao.core.revision import RevisionCache, watch
from fengqiao.core.workcalendar import WorkCalendar
from fengqiao.events.enums import (
    OPEN_STATES,
    STATE_ZH,
    EventState,
    Rating,
    Supervision,
    Urgency,
)
from fengqiao.events.lifecycle import ACTOR_ROLES, TRANSITIONS, Actor
from fengqiao.events.models import (
    Attachment,
    DeadlinePolicy,
    Event,
    RoutingRule,
    TimelineEntry,
)
from fengqiao.geo.models import Grid
from fengqiao.geo.service import find_place
from fengqiao.notify import service as notify
from fengqiao.notify.models import OutboxMessage
from fengqiao.people.models import Unit

S = EventState
ZONE = ZoneInfo("Asia/Shanghai")


# ---------------------------------------------------------------- reading


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


def scoped_events(principal: Principal) -> Select[Event]:
    """What the caller may see: their jurisdiction; a unit its tasks; a resident their own."""
    clauses = []
    if principal.has_any(*AREA_READERS):
        clauses.append(principal.scope(Event.region_path))
    if principal.has_any(Role.unit_handler) and principal.unit_id is not None:
        clauses.append(Event.unit_id == principal.unit_id)
    clauses.append(Event.reporter_id == principal.user_id)
    return select(Event).where(or_(*clauses))


def sees(
    principal: Principal, region_path: str, unit_id: int | None, reporter_id: int | None
) -> bool:
    """`scoped_events`' rule for a matter whose place, unit and reporter are in hand."""
    return (
        (principal.has_any(*AREA_READERS) and principal.covers(region_path))
        or (
            principal.has_any(Role.unit_handler)
            and principal.unit_id is not None
            and unit_id == principal.unit_id
        )
        or reporter_id == principal.user_id
    )


def get_event(session: Session, principal: Principal, event_id: int) -> Event:
    event = session.scalar(scoped_events(principal).where(Event.id == event_id))
    if event is None:
        raise NotFound("事件", "matter")
    return event


def timeline(session: Session, event: Event) -> list[TimelineEntry]:
    return list(
        session.scalars(
            select(TimelineEntry)
            .where(TimelineEntry.event_id == event.id)
            .order_by(TimelineEntry.id)
        )
    )


def overdue_clause(now: datetime) -> Any:
    return or_(
        and_(Event.state == S.dispatched.value, Event.sign_due_at < now),
        and_(Event.state == S.in_progress.value, Event.resolve_due_at < now),
    )


@dataclass
class EventFilter:
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
    sort: str = "-reported_at"
    limit: int = 50
    offset: int = 0


SORTS = {
    "reported_at": Event.reported_at,
    "resolve_due_at": Event.resolve_due_at,
    "sign_due_at": Event.sign_due_at,
    "updated_at": Event.updated_at,
    "id": Event.id,
}


def _filtered(session: Session, principal: Principal, f: EventFilter) -> Select[Event]:
    stmt = scoped_events(principal)
    if f.states:
        stmt = stmt.where(Event.state.in_(f.states))
    if f.category:
        stmt = stmt.where(Event.category_code == f.category)
    if f.level is not None:
        stmt = stmt.where(Event.level == f.level)
    if f.region_code:
        place = find_place(session, code=f.region_code)
        if place is None:
            raise NotFound("行政区划", "region")
        stmt = stmt.where(within(Event.region_path, place.path))
    if f.unit_id is not None:
        stmt = stmt.where(Event.unit_id == f.unit_id)
    if f.overdue is not None:
        clause = overdue_clause(clock.now())
        stmt = stmt.where(clause if f.overdue else ~clause)
    if f.channel:
        stmt = stmt.where(Event.channel == f.channel)
    if f.urgency:
        stmt = stmt.where(Event.urgency == f.urgency)
    if f.reported_from:
        stmt = stmt.where(Event.reported_at >= f.reported_from)
    if f.reported_to:
        stmt = stmt.where(Event.reported_at < f.reported_to)
    if f.q:
        like = f"%{f.q}%"
        stmt = stmt.where(
            or_(Event.title.like(like), Event.description.like(like), Event.number == f.q)
        )
    return stmt


def list_events(session: Session, principal: Principal, f: EventFilter) -> tuple[list[Event], int]:
    stmt = _filtered(session, principal, f)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    key = f.sort.lstrip("-")
    if key not in SORTS:
        raise Invalid("不支持的排序字段 {k}", "Unknown sort field {k}", k=key)
    column = SORTS[key]
    order = column.desc() if f.sort.startswith("-") else column.asc()
    rows = session.scalars(stmt.order_by(order, Event.id.desc()).limit(f.limit).offset(f.offset))
    return list(rows), total


def state_counts(session: Session, principal: Principal, f: EventFilter) -> dict[str, int]:
    """Matters per state under the same filters (for the inbox's tabs)."""
    base = _filtered(session, principal, f).subquery()
    rows = session.execute(select(base.c.state, func.count()).group_by(base.c.state)).all()
    return {str(state): int(n) for state, n in rows}


@dataclass(frozen=True)
class GridCount:
    grid_code: str
    open: int
    overdue: int


def grid_counts(session: Session, principal: Principal) -> list[GridCount]:
    """Open and overdue matters per grid among those the caller may see (the map's
    colours), in one GROUP BY. Grids with no open matter are left out."""
    overdue = overdue_clause(clock.now())
    rows = session.execute(
        scoped_events(principal)
        .with_only_columns(
            Grid.code,
            func.count(),
            func.coalesce(func.sum(case((overdue, 1), else_=0)), 0),
        )
        .join_from(Event, Grid, Grid.id == Event.grid_id)
        .where(Event.state.in_([s.value for s in OPEN_STATES]))
        .group_by(Grid.code)
        .order_by(Grid.code)
    ).all()
    return [GridCount(str(code), int(n), int(late)) for code, n, late in rows]


def reporter_phone(
    session: Session, principal: Principal, event: Event, masked: str | None
) -> str | None:
    """The reporter's phone in full for roles that may see personal data (audited)."""
    if event.reporter_phone and principal.can(Action.pii_read):
        audit.record(
            session,
            "read_personal_data",
            "event",
            event.id,
            region_path=event.region_path,
            detail={"fields": ["reporter_phone"]},
        )
        session.commit()
        return event.reporter_phone
    return masked


# ---------------------------------------------------------------- after intake


def check_category(routing: Routing, code: str | None) -> None:
    if code is not None and code not in routing.categories:
        raise Invalid("事件类别 {c} 不存在", "Unknown category {c}", c=code)


def route_by_model(
    session: Session, cal: WorkCalendar, event: Event, suggestions: classify.CategorySuggestions
) -> None:
    """Accept and dispatch as the system, saying which model decided and how sure it was."""
    top = suggestions.items[0]
    by_model = {
        "model": suggestions.model,
        "category_code": top["code"],
        "probability": top["p"],
        "threshold": suggestions.threshold,
    }
    now = clock.now()
    event.accepted_at = now
    event.state = S.accepted.value
    _entry(session, event, None, "accept", S.reported, S.accepted, "模型自动受理", by_model)
    unit = session.get(Unit, int((event.suggestion or {})["unit_id"]))
    assert unit is not None
    detail = _assign(session, cal, event, unit, now) | by_model
    detail["route_reason"] = f"by the model: {(event.suggestion or {}).get('reason')}"
    event.state = S.dispatched.value
    event.next_sweep_at = _next_sweep(event)
    entry = _entry(
        session, event, None, "dispatch", S.accepted, S.dispatched, "模型自动派遣", detail
    )
    _notify_for(session, event, entry, "dispatch")


def visible_duplicates(
    session: Session, principal: Principal, event: Event
) -> list[dict[str, Any]]:
    """The possible duplicates of a matter that this caller may see."""
    found = event.possible_duplicates or []
    if not found:
        return []
    ids = set(
        session.scalars(
            scoped_events(principal)
            .where(Event.id.in_([d["id"] for d in found]))
            .with_only_columns(Event.id)
        )
    )
    return [d for d in found if d["id"] in ids]


# ---------------------------------------------------------------- routing


ROUTING_REVISION = "routing"
watch(ROUTING_REVISION, Category, RoutingRule, Unit)


@dataclass(frozen=True)
class RoutingUnit:
    id: int
    code: str
    name: str
    region_path: str
    categories: frozenset[str]


@dataclass(frozen=True)
class Routing:
    """What routing needs, read in three queries and cached per process (it changes when
    an administrator edits categories, rules or units)."""

    categories: dict[str, str | None]  # every category → its parent
    names: dict[str, str]  # every category → its name
    rules: tuple[RoutingRule, ...]  # the active ones, detached
    units: dict[int, RoutingUnit]  # the active ones


def load_routing(session: Session) -> Routing:
    rules = tuple(session.scalars(select(RoutingRule).where(RoutingRule.is_active.is_(True))))
    for rule in rules:
        session.expunge(rule)
    categories = session.execute(select(Category.code, Category.parent_code, Category.name)).all()
    return Routing(
        categories={code: parent for code, parent, _ in categories},
        names={code: name for code, _, name in categories},
        rules=rules,
        units={
            u.id: RoutingUnit(u.id, u.code, u.name, u.region_path, frozenset(u.categories))
            for u in session.scalars(select(Unit).where(Unit.is_active.is_(True)))
        },
    )


def routing_cache() -> RevisionCache[Routing]:
    return RevisionCache(ROUTING_REVISION, load_routing)


def suggest_route(routing: Routing, event: Event) -> dict[str, Any] | None:
    """The responsible unit by the rule table (most specific rule first), else the
    territorial default: the township platform or county department whose categories
    include the matter's ("谁主管谁负责、属地管理")."""
    if event.category_code is None:
        return None
    categories = {event.category_code}
    parent = routing.categories.get(event.category_code)
    if parent:
        categories.add(parent)
    best: tuple[tuple[int, int, int], RoutingRule] | None = None
    for rule in routing.rules:
        if rule.category_code not in categories:
            continue
        if rule.urgency and rule.urgency != event.urgency:
            continue
        if rule.region_path and not event.region_path.startswith(rule.region_path):
            continue
        score = (
            int(rule.category_code == event.category_code),
            len(rule.region_path or ""),
            int(rule.urgency is not None),
        )
        if best is None or score > best[0]:
            best = (score, rule)
    if best is not None and best[1].unit_id in routing.units:
        rule = best[1]
        return {
            "unit_id": rule.unit_id,
            "unit_name": routing.units[rule.unit_id].name,
            "level": rule.level,
            "reason": f"routing rule #{rule.id}",
            "rule_id": rule.id,
        }
    # Territorial default: the nearest unit above the place that owns the category.
    for level in (TOWNSHIP, COUNTY):
        path = ancestor_at(event.region_path, level)
        for unit in sorted(routing.units.values(), key=lambda u: u.code):
            if unit.region_path == path and categories & unit.categories:
                return {
                    "unit_id": unit.id,
                    "unit_name": unit.name,
                    "level": level,
                    "reason": "territorial default (属地管理)",
                    "rule_id": None,
                }
    return None


# ---------------------------------------------------------------- deadlines


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


def set_deadlines(session: Session, cal: WorkCalendar, event: Event, start: datetime) -> None:
    policy = policy_for(session, event.category_code, event.urgency)
    for name, value in deadlines(cal, policy, start).items():
        setattr(event, name, value)


# A matter taken back from its unit: no deadline runs, no supervision.
CLEARED_DEADLINES: dict[str, Any] = {
    **dict.fromkeys(DUE_FIELDS),
    "next_sweep_at": None,
    "supervision": Supervision.none,
    "extension_until": None,
}


def _clear_deadlines(event: Event) -> None:
    for key, value in CLEARED_DEADLINES.items():
        setattr(event, key, value)


def _next_sweep(event: Event) -> datetime | None:
    if event.state == S.dispatched:
        return event.sign_due_at
    if event.state == S.in_progress:
        return event.resolve_due_at
    return None


# ---------------------------------------------------------------- transitions


def actors_of(principal: Principal, event: Event) -> set[Actor]:
    """In which capacities the caller stands towards this matter."""
    mine: set[Actor] = set()
    if (
        principal.roles & ACTOR_ROLES[Actor.dispatcher]
        and principal.covers(event.region_path)
        and path_level(principal.scope_path or "") >= event.level
    ):
        mine.add(Actor.dispatcher)
    if (
        Role.unit_handler in principal.roles
        and event.unit_id is not None
        and principal.unit_id == event.unit_id
    ):
        mine.add(Actor.unit)
    if principal.roles & GRID_STAFF and principal.covers(event.region_path):
        mine.add(Actor.grid)
    if event.reporter_id == principal.user_id:
        mine.add(Actor.reporter)
    return mine


def allowed_actions(principal: Principal, event: Event) -> list[str]:
    mine = actors_of(principal, event)
    return [
        a
        for a, t in TRANSITIONS.items()
        if S(event.state) in t.sources and mine & t.actors and not _barred(principal, event, a)
    ]


def _barred(principal: Principal, event: Event, action: str) -> bool:
    """Evaluation honesty: whoever closed or self-resolved a matter does not rate it."""
    return action == "rate" and event.closed_by_id == principal.user_id


def act(
    session: Session,
    principal: Principal,
    cal: WorkCalendar,
    event_id: int,
    action: str,
    payload: dict[str, Any],
) -> Event:
    """Apply one lifecycle action. 404 outside jurisdiction, 403 for the wrong actor,
    409 from the wrong state or when a concurrent change won, 422 for missing fields."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise Invalid("未知操作 {a}", "Unknown action {a}", a=action)
    event = get_event(session, principal, event_id)
    if S(event.state) not in transition.sources:
        raise Conflict(
            "事件当前为「{s}」，不能{a}",
            "The matter is {se}; cannot {ae}",
            s=STATE_ZH[S(event.state)],
            a=transition.zh,
            se=event.state,
            ae=action,
        )
    if not actors_of(principal, event) & transition.actors:
        raise Forbidden()
    if _barred(principal, event, action):
        raise AppError(
            "结案或自行处置该事件的人不能评价它",
            "Whoever closed or self-resolved a matter cannot rate it",
            code="forbidden",
            status=403,
        )
    missing = [k for k in sorted(transition.needs) if payload.get(k) in (None, "")]
    if missing:
        raise Invalid("缺少必填项：{f}", "Missing field: {f}", f=", ".join(missing))
    try:
        _apply(session, principal, cal, event, transition, action, payload)
        session.commit()
    except (StaleDataError, OperationalError) as exc:
        # Another transaction changed the matter first (or holds the database, on SQLite).
        session.rollback()
        if isinstance(exc, OperationalError) and "locked" not in str(exc).lower():
            raise
        raise Conflict(
            "事件已被他人处理，请刷新后重试",
            "Someone else changed this matter; reload and try again",
        ) from None
    return event


def _apply(
    session: Session,
    principal: Principal,
    cal: WorkCalendar,
    event: Event,
    transition: Any,
    action: str,
    payload: dict[str, Any],
) -> None:
    from_state = S(event.state)
    detail = HANDLERS[action](session, principal, cal, event, payload)
    if transition.target is not None:
        event.state = transition.target.value
    event.next_sweep_at = _next_sweep(event) if event.state in OPEN_STATES else None
    if event.state in (S.dispatched, S.in_progress) and event.supervision:
        event.next_sweep_at = _ladder_next(session, cal, (event.category_code, event.urgency))
    entry = _entry(
        session,
        event,
        principal,
        action,
        from_state,
        S(event.state),
        payload.get("reason") or payload.get("note"),
        detail,
    )
    _notify_for(session, event, entry, action)
    if action == "rate" and payload.get("rating") == Rating.dissatisfied:
        # 不满意: the matter is opened again at once.
        act_reopen(session, principal, event, "群众评价不满意，重新办理")


def act_reopen(session: Session, principal: Principal, event: Event, reason: str) -> None:
    _reopen(event)
    entry = _entry(session, event, principal, "reopen", S.evaluated, S.accepted, reason, {})
    _notify_for(session, event, entry, "reopen")


# -- what each action does beyond the state change; returns timeline detail


Handler = Any


def _accept(
    session: Session, p: Principal, cal: WorkCalendar, e: Event, data: dict[str, Any]
) -> dict[str, Any]:
    e.accepted_at = clock.now()
    if data.get("category_code"):
        routing = load_routing(session)
        check_category(routing, data["category_code"])
        e.category_code = data["category_code"]
        e.suggestion = suggest_route(routing, e)
        classify.record_correction(
            session, e, e.category_code, routing.names[e.category_code], p.user_id
        )
    return {}


def _reject(
    session: Session, p: Principal, cal: WorkCalendar, e: Event, data: dict[str, Any]
) -> dict[str, Any]:
    return {}


def _merge(
    session: Session, p: Principal, cal: WorkCalendar, e: Event, data: dict[str, Any]
) -> dict[str, Any]:
    target = get_event(session, p, int(data["target_id"]))
    if target.id == e.id or target.state in (S.merged, S.rejected):
        raise Invalid("不能合并到该事件", "Cannot merge into that matter")
    e.merged_into_id = target.id
    _entry(
        session,
        target,
        p,
        "merge_in",
        S(target.state),
        S(target.state),
        f"合并 {e.number}",
        {"merged_id": e.id},
    )
    return {"target_id": target.id, "target_number": target.number}


def _unit_for(session: Session, p: Principal, e: Event, data: dict[str, Any]) -> Unit:
    unit = None
    if data.get("unit_code"):
        unit = session.scalar(select(Unit).where(Unit.code == data["unit_code"]))
    elif data.get("unit_id"):
        unit = session.get(Unit, int(data["unit_id"]))
    elif e.suggestion and e.suggestion.get("unit_id"):
        unit = session.get(Unit, int(e.suggestion["unit_id"]))
    if unit is None or not unit.is_active:
        raise Invalid("请指定承办单位", "Choose the responsible unit")
    # For every caller, county dispatchers too: a unit serves the area under its region.
    if not e.region_path.startswith(unit.region_path):
        raise Invalid("{u} 不负责该区域", "{u} does not serve this place", u=unit.name)
    return unit


def _dispatch(
    session: Session, p: Principal, cal: WorkCalendar, e: Event, data: dict[str, Any]
) -> dict[str, Any]:
    unit = _unit_for(session, p, e, data)
    if data.get("urgency"):
        e.urgency = Urgency(data["urgency"]).value
    detail = _assign(session, cal, e, unit, clock.now())
    suggested = (e.suggestion or {}).get("unit_id")
    detail["route_reason"] = data.get("reason") or (
        "as suggested: " + str((e.suggestion or {}).get("reason"))
        if suggested == unit.id
        else "chosen by the dispatcher"
    )
    return detail


def _assign(
    session: Session, cal: WorkCalendar, e: Event, unit: Unit, now: datetime
) -> dict[str, Any]:
    """Hands the matter to a unit with the deadlines of its policy."""
    e.unit_id = unit.id
    e.dispatched_at = now
    e.first_dispatched_at = e.first_dispatched_at or now
    e.dispatch_count += 1
    set_deadlines(session, cal, e, now)
    e.supervision = Supervision.none
    return {
        "unit_id": unit.id,
        "unit_name": unit.name,
        "sign_due_at": _iso(e.sign_due_at),
        "resolve_due_at": _iso(e.resolve_due_at),
        "due_flagged": e.due_flagged,
    }


def _sign(
    session: Session, p: Principal, cal: WorkCalendar, e: Event, data: dict[str, Any]
) -> dict[str, Any]:
    e.signed_at = clock.now()
    e.supervision = Supervision.none
    return {}


def _return(
    session: Session, p: Principal, cal: WorkCalendar, e: Event, data: dict[str, Any]
) -> dict[str, Any]:
    unit_id = e.unit_id
    e.return_count += 1
    e.unit_id = None
    _clear_deadlines(e)
    return {"unit_id": unit_id, "grounds": data.get("grounds") or data.get("reason")}


def _parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            raise Invalid("时间格式不正确", "Malformed time") from None
    if moment.tzinfo is None:
        raise Invalid("时间需带时区", "The time needs a time zone")
    return moment


def _request_extension(
    session: Session, p: Principal, cal: WorkCalendar, e: Event, data: dict[str, Any]
) -> dict[str, Any]:
    until = _parse_time(data["until"])
    if e.extension_until is not None:
        raise Conflict("已有待审批的延期申请", "An extension request is already pending")
    if e.resolve_due_at is not None and until <= e.resolve_due_at:
        raise Invalid("延期后的期限应晚于当前期限", "The new deadline must be later")
    e.extension_until = until
    return {"until": until.isoformat()}


def _approve_extension(
    session: Session, p: Principal, cal: WorkCalendar, e: Event, data: dict[str, Any]
) -> dict[str, Any]:
    if e.extension_until is None:
        raise Conflict("没有待审批的延期申请", "No extension request is pending")
    old, e.resolve_due_at, e.extension_until = e.resolve_due_at, e.extension_until, None
    e.supervision = Supervision.none
    return {"from": _iso(old), "to": _iso(e.resolve_due_at)}


def _deny_extension(
    session: Session, p: Principal, cal: WorkCalendar, e: Event, data: dict[str, Any]
) -> dict[str, Any]:
    if e.extension_until is None:
        raise Conflict("没有待审批的延期申请", "No extension request is pending")
    requested, e.extension_until = e.extension_until, None
    return {"requested": _iso(requested)}


def _escalate(
    session: Session, p: Principal, cal: WorkCalendar, e: Event, data: dict[str, Any]
) -> dict[str, Any]:
    if e.level >= COUNTY:
        raise Conflict("已在区县层级，无法再上报", "Already at county level")
    old = e.level
    e.level += 1
    e.accepted_at = e.accepted_at or clock.now()
    e.unit_id = None
    _clear_deadlines(e)
    return {"from_level": old, "to_level": e.level}


def _send_down(
    session: Session, p: Principal, cal: WorkCalendar, e: Event, data: dict[str, Any]
) -> dict[str, Any]:
    try:
        level = int(data["level"])
    except (TypeError, ValueError):
        raise Invalid("层级应为数字", "Level must be a number") from None
    if not GRID < level < e.level:
        raise Invalid("只能下派到更低的层级", "Can only send down to a lower level")
    old, e.level = e.level, level
    return {"from_level": old, "to_level": level}


def _self_resolve(
    session: Session, p: Principal, cal: WorkCalendar, e: Event, data: dict[str, Any]
) -> dict[str, Any]:
    now = clock.now()
    e.self_resolved = True
    e.accepted_at = e.accepted_at or now
    e.closed_at = now  # closed at grid level: no unit handled it
    e.closed_on_time = True
    e.closed_level = GRID
    e.closed_by_id = p.user_id
    return {}


def _feedback(
    session: Session, p: Principal, cal: WorkCalendar, e: Event, data: dict[str, Any]
) -> dict[str, Any]:
    now = clock.now()
    on_time = e.resolve_due_at is None or now <= e.resolve_due_at
    if e.handled_at is None:
        e.handled_on_time = on_time
    e.handled_at = now
    e.supervision = Supervision.none
    return {"on_time": on_time}


def _request_verification(
    session: Session, p: Principal, cal: WorkCalendar, e: Event, data: dict[str, Any]
) -> dict[str, Any]:
    return {}


def _verify_ok(
    session: Session, p: Principal, cal: WorkCalendar, e: Event, data: dict[str, Any]
) -> dict[str, Any]:
    now = clock.now()
    e.closed_at = now
    e.closed_on_time = e.resolve_due_at is None or (e.handled_at or now) <= e.resolve_due_at
    unit = session.get(Unit, e.unit_id) if e.unit_id else None
    e.closed_level = path_level(unit.region_path) if unit else e.level
    e.closed_by_id = p.user_id
    return {"on_time": e.closed_on_time, "closed_level": e.closed_level}


def _verify_fail(
    session: Session, p: Principal, cal: WorkCalendar, e: Event, data: dict[str, Any]
) -> dict[str, Any]:
    now = clock.now()
    e.rework_count += 1
    e.dispatched_at = now
    e.dispatch_count += 1
    set_deadlines(session, cal, e, now)
    e.supervision = Supervision.none
    return {"unit_id": e.unit_id, "resolve_due_at": _iso(e.resolve_due_at)}


def _rate(
    session: Session, p: Principal, cal: WorkCalendar, e: Event, data: dict[str, Any]
) -> dict[str, Any]:
    e.rating = Rating(data["rating"]).value
    return {"rating": e.rating}


def _reopen(e: Event) -> None:
    e.reopen_count += 1
    e.self_resolved = False  # the grid's resolution did not hold
    e.closed_at = None
    e.closed_on_time = None
    e.closed_level = None
    e.closed_by_id = None
    e.unit_id = None
    e.state = S.accepted.value
    _clear_deadlines(e)


def _reopen_handler(
    session: Session, p: Principal, cal: WorkCalendar, e: Event, data: dict[str, Any]
) -> dict[str, Any]:
    _reopen(e)
    return {}


def _remind(
    session: Session, p: Principal, cal: WorkCalendar, e: Event, data: dict[str, Any]
) -> dict[str, Any]:
    e.supervision = max(e.supervision, Supervision.reminded)
    return {"by_hand": True}


CARDS = {
    "normal": Supervision.supervised,
    "yellow": Supervision.yellow_card,
    "red": Supervision.red_card,
}


def _supervise(
    session: Session, p: Principal, cal: WorkCalendar, e: Event, data: dict[str, Any]
) -> dict[str, Any]:
    card = str(data.get("card") or "normal")
    if card not in CARDS:
        raise Invalid("督办类型应为 normal、yellow 或 red", "Card must be normal, yellow or red")
    e.supervision = max(e.supervision, CARDS[card])
    return {"card": card, "by_hand": True}


HANDLERS: dict[str, Handler] = {
    "accept": _accept,
    "reject": _reject,
    "merge": _merge,
    "dispatch": _dispatch,
    "sign": _sign,
    "return": _return,
    "request_extension": _request_extension,
    "approve_extension": _approve_extension,
    "deny_extension": _deny_extension,
    "escalate": _escalate,
    "send_down": _send_down,
    "self_resolve": _self_resolve,
    "feedback": _feedback,
    "request_verification": _request_verification,
    "verify_ok": _verify_ok,
    "verify_fail": _verify_fail,
    "rate": _rate,
    "reopen": _reopen_handler,
    "remind": _remind,
    "supervise": _supervise,
}
assert set(HANDLERS) == set(TRANSITIONS)


# ---------------------------------------------------------------- supervision ladder


def _ladder_next(
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


LADDER = {
    Supervision.reminded: ("remind", "催办"),
    Supervision.supervised: ("supervise", "督办"),
    Supervision.yellow_card: ("yellow_card", "黄牌督办"),
    Supervision.red_card: ("red_card", "红牌督办"),
    Supervision.escalated: ("overdue_escalate", "超期上报"),
}


def sweep(session: Session, cal: WorkCalendar, limit: int = 1000) -> int:
    """Move every overdue matter one step up the ladder (催办 → 督办 → 黄牌 → 红牌 → 上报).
    Finds them through the `next_sweep_at` index and writes with one statement per table,
    not per matter, so a sweep costs what is due, whatever the number open. Returns how
    many were moved."""
    now = clock.now()
    ev = cast(Table, Event.__table__)
    due = session.execute(
        select(
            ev.c.id,
            ev.c.version,
            ev.c.number,
            ev.c.title,
            ev.c.state,
            ev.c.supervision,
            ev.c.level,
            ev.c.unit_id,
            ev.c.region_path,
            ev.c.category_code,
            ev.c.urgency,
            ev.c.sign_due_at,
            ev.c.resolve_due_at,
        )
        .where(ev.c.next_sweep_at <= now)
        .order_by(ev.c.next_sweep_at)
        .limit(limit)
        # PostgreSQL: a matter a person is changing right now waits for the next sweep.
        .with_for_update(skip_locked=True)
    ).all()
    if not due:
        return 0
    policies: dict[tuple[str | None, str], DeadlinePolicy | None] = {}
    changes: dict[int, dict[str, Any]] = {}
    entries: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    for r in due:
        if r.state not in (S.dispatched, S.in_progress):
            changes[r.id] = {"next_sweep_at": None}  # nothing left to chase
            continue
        step = Supervision(min(r.supervision + 1, Supervision.escalated))
        action, zh = LADDER[step]
        from_state = to_state = S(r.state)
        detail: dict[str, Any] = {
            "stage": "sign" if from_state == S.dispatched else "resolve",
            "due": _iso(r.sign_due_at if from_state == S.dispatched else r.resolve_due_at),
        }
        recipients = [f"unit:{r.unit_id}"]
        if step == Supervision.escalated and r.level < COUNTY:
            to_state, level = S.accepted, r.level + 1
            detail |= {"from_level": r.level, "to_level": level, "unit_id": r.unit_id}
            changes[r.id] = {
                "level": level,
                "unit_id": None,
                "state": to_state.value,
                **CLEARED_DEADLINES,
            }
            recipients = [f"dispatchers:{ancestor_at(r.region_path, level)}"]
        else:
            changes[r.id] = {
                "supervision": max(r.supervision, step),
                "next_sweep_at": _ladder_next(session, cal, (r.category_code, r.urgency), policies),
            }
        entries.append(
            {
                "event_id": r.id,
                "at": now,
                "actor_id": None,
                "actor_name": SYSTEM_ACTOR,
                "action": action,
                "from_state": from_state.value,
                "to_state": to_state.value,
                "reason": zh,
                "detail": detail,
            }
        )
        messages += notify.outbox_rows(
            topic=f"event.{action}",
            key=f"e{r.id}.{r.version}.{action}",
            recipients=recipients,
            event_id=r.id,
            region_path=r.region_path,
            payload=message(r.id, r.number, r.title, to_state.value, action),
        )
    versions = {r.id: r.version for r in due}
    paths = {r.id: r.region_path for r in due}
    # One UPDATE per shape of change, each checking the version it read.
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for event_id, values in changes.items():
        row = {**values, "updated_at": now, "b_id": event_id, "b_version": versions[event_id]}
        shapes.setdefault(tuple(sorted(values)), []).append(row)
    updated = 0
    for rows in shapes.values():
        result = session.execute(
            update(ev)
            .where(ev.c.id == bindparam("b_id"), ev.c.version == bindparam("b_version"))
            .values(version=ev.c.version + 1),
            rows,
        )
        updated += cast(CursorResult[Any], result).rowcount
    if updated != len(changes):  # a person acted meanwhile; the next sweep looks again
        session.rollback()
        return 0
    for event_id, values in changes.items():
        audit.bulk_updated(session, "event", event_id, paths[event_id], values)
        known = session.identity_map.get(identity_key(Event, event_id))
        if known is not None:
            session.expire(known)
    if entries:
        # executemany: pipelined on PostgreSQL, a round trip for the lot
        session.execute(insert(cast(Table, TimelineEntry.__table__)), entries)
        session.execute(insert(cast(Table, OutboxMessage.__table__)), messages)
    session.commit()
    return len(entries)


# ---------------------------------------------------------------- timeline, notifications


SYSTEM_ACTOR = "系统 system"


def _entry(
    session: Session,
    event: Event,
    principal: Principal | None,
    action: str,
    from_state: S | None,
    to_state: S,
    reason: str | None,
    detail: dict[str, Any],
) -> TimelineEntry:
    entry = TimelineEntry(
        event_id=event.id,
        at=clock.now(),
        actor_id=principal.user_id if principal else None,
        actor_name=principal.display_name if principal else SYSTEM_ACTOR,
        action=action,
        from_state=from_state.value if from_state else None,
        to_state=to_state.value,
        reason=reason,
        detail=detail,
    )
    session.add(entry)
    return entry


def _notify(
    session: Session, event: Event, entry: TimelineEntry, topic: str, recipients: list[str]
) -> None:
    notify.enqueue(
        session,
        topic=topic,
        # One change of one matter: its version (bumped on every write) and the action.
        key=f"e{event.id}.{event.version}.{entry.action}",
        recipients=recipients,
        event_id=event.id,
        region_path=event.region_path,
        payload=message(event.id, event.number, event.title, event.state, entry.action),
    )


def message(event_id: int, number: str, title: str, state: str, action: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "number": number,
        "title": title,
        "state": state,
        "action": action,
        "text": f"【枫桥】{number} {title}：{action}",
    }


def _notify_for(session: Session, event: Event, entry: TimelineEntry, action: str) -> None:
    dispatchers = f"dispatchers:{ancestor_at(event.region_path, event.level)}"
    recipients = {
        "dispatch": [f"unit:{event.unit_id}"],
        "verify_fail": [f"unit:{event.unit_id}"],
        "remind": [f"unit:{event.unit_id}"],
        "supervise": [f"unit:{event.unit_id}"],
        "return": [dispatchers],
        "request_extension": [dispatchers],
        "feedback": [dispatchers],
        "escalate": [dispatchers],
        "send_down": [dispatchers],
        "reopen": [dispatchers],
        "request_verification": [f"grid:{event.grid_id}" if event.grid_id else dispatchers],
    }.get(action, [])
    if (
        action
        in ("reject", "merge", "verify_ok", "self_resolve", "approve_extension", "deny_extension")
        and event.reporter_id
    ):
        recipients = [*recipients, f"user:{event.reporter_id}"]
    if recipients:
        _notify(session, event, entry, f"event.{action}", recipients)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# ---------------------------------------------------------------- attachments

STAGES = ("report", "feedback", "verify", "resolve")


def add_attachment(
    session: Session,
    principal: Principal,
    event_id: int,
    stage: str,
    content: bytes,
    files_dir: Path,
    max_bytes: int,
) -> Attachment:
    """Store a photo, decoded and written again, once by its SHA-256 and link it to the
    matter."""
    event = get_event(session, principal, event_id)
    if not actors_of(principal, event):
        raise Forbidden()
    if stage not in STAGES:
        raise Invalid("附件阶段应为 {s}", "Stage must be one of {s}", s=", ".join(STAGES))
    if len(content) > max_bytes:
        raise Invalid(
            "图片过大（上限 {m} MB）",
            "Photo too large (limit {m} MB)",
            m=max_bytes // (1024 * 1024),
        )
    content, kind = images.reencode(content)  # a file that only starts like one fails
    digest = hashlib.sha256(content).hexdigest()
    path = attachment_path(files_dir, digest)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_bytes(content)
        os.replace(tmp, path)  # atomic: a reader never sees half a file
    row = Attachment(
        event_id=event.id,
        sha256=digest,
        content_type=kind,
        size=len(content),
        stage=stage,
        uploaded_by=principal.user_id,
        created_at=clock.now(),
    )
    session.add(row)
    session.commit()
    return row


def attachment_path(files_dir: Path, digest: str) -> Path:
    return files_dir / digest[:2] / digest[2:4] / digest


def get_attachment(session: Session, principal: Principal, attachment_id: int) -> Attachment:
    row = session.scalar(
        select(Attachment).where(
            Attachment.id == attachment_id,
            Attachment.event_id.in_(scoped_events(principal).with_only_columns(Event.id)),
        )
    )
    if row is None:
        raise NotFound("附件", "attachment")
    return row


def attachments_of(session: Session, event: Event) -> list[Attachment]:
    return list(
        session.scalars(
            select(Attachment).where(Attachment.event_id == event.id).order_by(Attachment.id)
        )
    )
