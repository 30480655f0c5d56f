"""What each action of the closed loop does beyond the change of state: one handler per
row of the table in `lifecycle.py`, each taking its own validated payload and returning
the detail its timeline entry keeps."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.classify import flows as classify
from fengqiao.core import clock
from fengqiao.core.errors import Conflict, Invalid
from fengqiao.core.labels import Label
from fengqiao.core.levels import COUNTY, GRID, path_level
from fengqiao.core.permissions import Principal
from fengqiao.core.workcalendar import WorkCalendar
from fengqiao.matters import deadlines
from fengqiao.matters.enums import Card, Rating, Supervision, Urgency
from fengqiao.matters.enums import MatterState as S
from fengqiao.matters.models import Matter
from fengqiao.matters.queries import read_matter
from fengqiao.matters.reasons import AS_SUGGESTED, CHOSEN
from fengqiao.matters.routing import check_category, load_routing, suggest_route
from fengqiao.matters.schemas import (
    AcceptIn,
    DispatchIn,
    ExtensionIn,
    MergeIn,
    NoteIn,
    RateIn,
    Reasoned,
    Remark,
    ReturnIn,
    SendDownIn,
    SuperviseIn,
)
from fengqiao.matters.timeline import entry, iso
from fengqiao.people.models import Unit

Detail = dict[str, Any]


def accept(s: Session, p: Principal, cal: WorkCalendar, m: Matter, data: AcceptIn) -> Detail:
    m.accepted_at = clock.now()
    if data.category_code:
        routing = load_routing(s)
        check_category(routing, data.category_code)
        m.category_code = data.category_code
        m.suggestion = suggest_route(routing, m)
        classify.record_correction(
            s,
            matter_id=m.id,
            title=m.title,
            text=m.description,
            suggested=m.category_suggestions,
            category_code=m.category_code,
            name=routing.names[m.category_code],
            actor_id=p.user_id,
        )
    return {}


# The reason the target of a merge keeps (stored in Chinese, answered by language).
MERGED_IN = Label("合并 {n}", "Merged in {n}")


def merge(s: Session, p: Principal, cal: WorkCalendar, m: Matter, data: MergeIn) -> Detail:
    target = read_matter(s, p, data.target_id)
    if target.id == m.id or target.state in (S.merged, S.rejected):
        raise Invalid("不能合并到该事件", "Cannot merge into that matter")
    m.merged_into_id = target.id
    reason = MERGED_IN.zh.format(n=m.number)
    entry(s, target, p, "merge_in", target.state, reason, {"merged_id": m.id})
    return {"target_id": target.id, "target_number": target.number}


def unit_for(session: Session, m: Matter, unit_code: str | None) -> Unit:
    """The unit named, else the suggested one; it must serve the matter's place."""
    unit = None
    if unit_code:
        unit = session.scalar(select(Unit).where(Unit.code == unit_code))
    elif m.suggestion and m.suggestion.get("unit_id"):
        unit = session.get(Unit, int(m.suggestion["unit_id"]))
    if unit is None or not unit.is_active:
        raise Invalid("请指定承办单位", "Choose the responsible unit")
    # For every caller, county dispatchers too: a unit serves the area under its region.
    if not m.region_path.startswith(unit.region_path):
        raise Invalid("{u} 不负责该区域", "{u} does not serve this place", u=unit.name)
    return unit


def assign(m: Matter, unit: Unit) -> Detail:
    """Hands the matter to a unit; the table's deadline effect starts its clock."""
    now = clock.now()
    m.unit_id = unit.id
    m.dispatched_at = now
    m.first_dispatched_at = m.first_dispatched_at or now
    m.dispatch_count += 1
    return {"unit_id": unit.id, "unit_name": unit.name}


def dispatch(s: Session, p: Principal, cal: WorkCalendar, m: Matter, data: DispatchIn) -> Detail:
    unit = unit_for(s, m, data.unit_code)
    if data.urgency:
        m.urgency = Urgency(data.urgency).value
    detail = assign(m, unit)
    suggested = (m.suggestion or {}).get("unit_id")
    detail["route_reason"] = data.reason or (
        AS_SUGGESTED.zh.format(reason=(m.suggestion or {}).get("reason"))
        if suggested == unit.id
        else CHOSEN.zh
    )
    return detail


def sign(s: Session, p: Principal, cal: WorkCalendar, m: Matter, data: Remark) -> Detail:
    m.signed_at = clock.now()
    m.supervision = Supervision.none
    return {}


def give_back(s: Session, p: Principal, cal: WorkCalendar, m: Matter, data: ReturnIn) -> Detail:
    unit_id = m.unit_id
    m.return_count += 1
    m.unit_id = None
    return {"unit_id": unit_id, "grounds": data.grounds or data.reason}


def request_extension(
    s: Session, p: Principal, cal: WorkCalendar, m: Matter, data: ExtensionIn
) -> Detail:
    if m.extension_until is not None:
        raise Conflict("已有待审批的延期申请", "An extension request is already pending")
    if m.resolve_due_at is not None and data.until <= m.resolve_due_at:
        raise Invalid("延期后的期限应晚于当前期限", "The new deadline must be later")
    m.extension_until = data.until
    return {"until": data.until.isoformat()}


def approve_extension(
    s: Session, p: Principal, cal: WorkCalendar, m: Matter, data: Remark
) -> Detail:
    if m.extension_until is None:
        raise Conflict("没有待审批的延期申请", "No extension request is pending")
    old, m.resolve_due_at, m.extension_until = m.resolve_due_at, m.extension_until, None
    m.supervision = Supervision.none
    return {"from": iso(old), "to": iso(m.resolve_due_at)}


def deny_extension(
    s: Session, p: Principal, cal: WorkCalendar, m: Matter, data: Reasoned
) -> Detail:
    if m.extension_until is None:
        raise Conflict("没有待审批的延期申请", "No extension request is pending")
    requested, m.extension_until = m.extension_until, None
    return {"requested": iso(requested)}


def escalate(s: Session, p: Principal, cal: WorkCalendar, m: Matter, data: Reasoned) -> Detail:
    if m.level >= COUNTY:
        raise Conflict("已在区县层级，无法再上报", "Already at county level")
    old = m.level
    m.level += 1
    m.accepted_at = m.accepted_at or clock.now()
    m.unit_id = None
    return {"from_level": old, "to_level": m.level}


def send_down(s: Session, p: Principal, cal: WorkCalendar, m: Matter, data: SendDownIn) -> Detail:
    if not GRID < data.level < m.level:
        raise Invalid("只能下派到更低的层级", "Can only send down to a lower level")
    old, m.level = m.level, data.level
    return {"from_level": old, "to_level": data.level}


def self_resolve(s: Session, p: Principal, cal: WorkCalendar, m: Matter, data: NoteIn) -> Detail:
    now = clock.now()
    m.self_resolved = True
    m.accepted_at = m.accepted_at or now
    m.closed_at = now  # closed at grid level: no unit handled it
    m.closed_on_time = True
    m.closed_level = GRID
    m.closed_by_id = p.user_id
    return {}


def close_by_mediation(
    s: Session, p: Principal | None, cal: WorkCalendar, m: Matter, data: Any
) -> Detail:
    """The mediation case ended: the matter closes at the level that held it, on time (its
    clock stopped when the case began; the case keeps its own)."""
    m.closed_at = clock.now()
    m.closed_on_time = True
    m.closed_level = m.level
    m.closed_by_id = p.user_id if p else None
    return {"on_time": True, "closed_level": m.level}


def feedback(s: Session, p: Principal, cal: WorkCalendar, m: Matter, data: NoteIn) -> Detail:
    now = clock.now()
    on_time = m.resolve_due_at is None or now <= m.resolve_due_at
    if m.handled_at is None:
        m.handled_on_time = on_time
    m.handled_at = now
    m.supervision = Supervision.none
    return {"on_time": on_time}


def verify_ok(s: Session, p: Principal, cal: WorkCalendar, m: Matter, data: Any) -> Detail:
    now = clock.now()
    m.closed_at = now
    m.closed_on_time = m.resolve_due_at is None or (m.handled_at or now) <= m.resolve_due_at
    unit = s.get(Unit, m.unit_id) if m.unit_id else None
    m.closed_level = path_level(unit.region_path) if unit else m.level
    m.closed_by_id = p.user_id
    return {"on_time": m.closed_on_time, "closed_level": m.closed_level}


def verify_fail(s: Session, p: Principal, cal: WorkCalendar, m: Matter, data: Reasoned) -> Detail:
    m.rework_count += 1
    m.dispatched_at = clock.now()
    m.dispatch_count += 1
    return {"unit_id": m.unit_id}


def rate(s: Session, p: Principal, cal: WorkCalendar, m: Matter, data: RateIn) -> Detail:
    m.rating = Rating(data.rating).value
    return {"rating": m.rating}


def reopen(s: Session, p: Principal | None, cal: WorkCalendar, m: Matter, data: Any) -> Detail:
    m.reopen_count += 1
    m.self_resolved = False  # the grid's resolution did not hold
    m.closed_at = None
    m.closed_on_time = None
    m.closed_level = None
    m.closed_by_id = None
    m.unit_id = None
    return {}


def remind(s: Session, p: Principal, cal: WorkCalendar, m: Matter, data: Remark) -> Detail:
    m.supervision = max(m.supervision, Supervision.reminded)
    return {"by_hand": True}


CARDS = {
    Card.normal: Supervision.supervised,
    Card.yellow: Supervision.yellow_card,
    Card.red: Supervision.red_card,
}


def supervise(s: Session, p: Principal, cal: WorkCalendar, m: Matter, data: SuperviseIn) -> Detail:
    m.supervision = max(m.supervision, CARDS[data.card])
    return {"card": data.card.value, "by_hand": True}


def start_clock(session: Session, cal: WorkCalendar, m: Matter) -> Detail:
    deadlines.set_deadlines(session, cal, m, m.dispatched_at or clock.now())
    m.supervision = Supervision.none
    return {
        "sign_due_at": iso(m.sign_due_at),
        "resolve_due_at": iso(m.resolve_due_at),
        "due_flagged": m.due_flagged,
    }
