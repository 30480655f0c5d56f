"""The sweep: every overdue matter one step up the supervision ladder of the table."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from fengqiao.core import audit, clock
from fengqiao.core.levels import COUNTY
from fengqiao.core.workcalendar import WorkCalendar
from fengqiao.matters.deadlines import CLEARED_DEADLINES, ladder_next
from fengqiao.matters.enums import MatterState as S
from fengqiao.matters.enums import Supervision
from fengqiao.matters.lifecycle import CHASED, MATTER, UNIT, address
from fengqiao.matters.models import DeadlinePolicy, Matter, TimelineEntry
from fengqiao.matters.timeline import SYSTEM_ACTOR, iso, message
from fengqiao.notify import service as notify
from fengqiao.notify.models import OutboxMessage


def sweep(session: Session, cal: WorkCalendar, limit: int = 1000) -> int:
    """Move every overdue matter one step up the ladder (催办 → 督办 → 黄牌 → 红牌 → 上报).
    Finds them through the `next_sweep_at` index and writes with one statement per table,
    not per matter, so a sweep costs what is due, whatever the number open. Returns how
    many were moved."""
    now = clock.now()
    ev = cast(Table, Matter.__table__)
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
        if r.state not in CHASED:
            changes[r.id] = {"next_sweep_at": None}  # nothing left to chase
            continue
        step = Supervision(min(r.supervision + 1, Supervision.escalated))
        t = MATTER.transitions[MATTER.ladder[step - 1]]
        from_state = to_state = S(r.state)
        detail: dict[str, Any] = {
            "stage": "sign" if from_state == S.dispatched else "resolve",
            "due": iso(r.sign_due_at if from_state == S.dispatched else r.resolve_due_at),
        }
        # At the county an overdue matter cannot go up: the unit hears of it again.
        kinds, level = (t.notifies if t.target is None else (UNIT,)), r.level
        if t.target is not None and r.level < COUNTY:
            to_state, level = S(t.target), r.level + 1
            detail |= {"from_level": r.level, "to_level": level, "unit_id": r.unit_id}
            changes[r.id] = {
                "level": level,
                "unit_id": None,
                "state": to_state.value,
                **CLEARED_DEADLINES,
            }
            kinds = t.notifies
        else:
            changes[r.id] = {
                "supervision": max(r.supervision, step),
                "next_sweep_at": ladder_next(session, cal, (r.category_code, r.urgency), policies),
            }
        entries.append(
            {
                "matter_id": r.id,
                "at": now,
                "actor_id": None,
                "actor_name": SYSTEM_ACTOR,
                "action": t.name,
                "from_state": from_state.value,
                "to_state": to_state.value,
                "reason": t.label.zh,
                "detail": detail,
            }
        )
        recipients = [a for k in kinds if (a := address(k, r.region_path, level, r.unit_id))]
        messages += notify.outbox_rows(
            topic=f"matter.{t.name}",
            key=f"e{r.id}.{r.version}.{t.name}",
            recipients=recipients,
            matter_id=r.id,
            region_path=r.region_path,
            payload=message(r.id, r.number, r.title, to_state.value, t),
        )
    versions = {r.id: r.version for r in due}
    paths = {r.id: r.region_path for r in due}
    # One UPDATE per shape of change, each checking the version it read.
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for matter_id, values in changes.items():
        row = {**values, "updated_at": now, "b_id": matter_id, "b_version": versions[matter_id]}
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
    for matter_id, values in changes.items():
        audit.bulk_updated(session, "event", matter_id, paths[matter_id], values)
        known = session.identity_map.get(identity_key(Matter, matter_id))
        if known is not None:
            session.expire(known)
    if entries:
        # executemany: pipelined on PostgreSQL, a round trip for the lot
        session.execute(insert(cast(Table, TimelineEntry.__table__)), entries)
        session.execute(insert(cast(Table, OutboxMessage.__table__)), messages)
    session.commit()
    return len(entries)
