"""The closed loop's service: what the views call, one function each.

Every change of a matter is one transaction: the matter's row (its version checked, so of
two concurrent transitions exactly one wins), a timeline entry and its notifications. The
rules of the loop are the table in `lifecycle.py`; reading is in `queries.py`, routing in
`routing.py`, deadlines in `deadlines.py`, the sweep in `sweep.py`, photos in
`attachments.py`, intake in `intake.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.core import clock
from fengqiao.core.database import read_retrying
from fengqiao.core.models import Category
from fengqiao.core.permissions import Principal
from fengqiao.core.revision import RevisionCache
from fengqiao.core.security import mask_phone
from fengqiao.core.workcalendar import WorkCalendar
from fengqiao.geo.coords import to_wgs84
from fengqiao.geo.models import Grid
from fengqiao.geo.service import GridLocator
from fengqiao.matters import bulk, intake
from fengqiao.matters.attachments import (
    STAGES,
    add_attachment,
    attachment_path,
    attachments_of,
    read_attachment,
)
from fengqiao.matters.deadlines import (
    DUE_FIELDS,
    deadlines,
    due_at,
    policy_for,
    say_time_left,
    time_left_minutes,
)
from fengqiao.matters.flows import IntakeWriter
from fengqiao.matters.lifecycle import (
    MATTER,
    TRANSITIONS,
    reason_in,
    route_by_model,
)
from fengqiao.matters.live import watch
from fengqiao.matters.models import Attachment, Matter, TimelineEntry
from fengqiao.matters.queries import (
    MatterFilter,
    is_overdue,
    is_pinned,
    overdue_clause,
    place_names_unscoped,
    read_grid_counts,
    read_matter,
    read_matters,
    read_reporter_phone,
    read_state_counts,
    scoped_matters,
    sees,
    timeline,
    visible_duplicates,
)
from fengqiao.matters.reasons import route_reason_in
from fengqiao.matters.routing import (
    Routing,
    check_category,
    load_routing,
    routing_cache,
    suggest_route,
)
from fengqiao.matters.schemas import (
    AttachmentOut,
    BulkIn,
    BulkOut,
    MatterOut,
    MatterPage,
    PendingOut,
    ReportIn,
    TimelineOut,
)
from fengqiao.matters.sweep import sweep
from fengqiao.matters.timeline import SYSTEM_ACTOR, SYSTEM_NAME, message
from fengqiao.people.models import Unit

# ---------------------------------------------------------------- changing


def act(
    session: Session,
    principal: Principal,
    cal: WorkCalendar,
    matter_id: int,
    action: str,
    payload: Mapping[str, Any],
) -> Matter:
    """Apply one action of the table. 422 for an unknown action or a bad payload, 404
    outside the jurisdiction, 409 from the wrong state or when a concurrent change won,
    403 for the wrong actor."""
    return MATTER.take(
        session,
        principal,
        cal,
        lambda: read_matter(session, principal, matter_id),
        action,
        payload,
    )


def bulk_act(
    session: Session, principal: Principal, cal: WorkCalendar, body: BulkIn, lang: str
) -> BulkOut:
    """One action on many matters, each on its own; the failures named with reasons."""
    return bulk.bulk_act(session, principal, cal, body, lang, act)


def allowed_actions(principal: Principal, matter: Matter) -> list[str]:
    return MATTER.allowed(principal, matter)


@dataclass
class Intake:
    """What the server reads and writes reports with, made once at start-up."""

    locator: GridLocator
    routing: RevisionCache[Routing]
    reader: intake.Reader
    writer: IntakeWriter


async def report(
    session: Session, principal: Principal, body: ReportIn, parts: Intake, lang: str
) -> tuple[MatterOut, bool]:
    """One report, from any channel: read, written by the intake writer with the other
    reports of that moment, and answered. Returns the matter and whether it is new."""
    grids: dict[int, tuple[str, str]] = {}
    places: dict[str, str] = {}

    def read_once() -> intake.Intake:
        lon = lat = None
        grid = None
        if body.lon is not None and body.lat is not None:
            lon, lat = to_wgs84(body.lon, body.lat, body.crs)
            ref = parts.locator.locate(session, lon, lat)
            if ref is not None:
                grid, grids[ref.id] = (ref.id, ref.path), (ref.code, ref.name)
                places[ref.path] = ref.region_name
        data = intake.Report(
            title=body.title,
            description=body.description,
            category_code=body.category_code,
            channel=body.channel.value,
            urgency=body.urgency.value,
            risk_colour=body.risk_colour.value,
            lon=lon,
            lat=lat,
            address=body.address,
            region_code=body.region_code,
            reporter_name=body.reporter_name,
            reporter_phone=body.reporter_phone,
            idempotency_key=body.idempotency_key,
        )
        return intake.prepare(
            session,
            principal,
            data,
            grid=grid,
            routing=parts.routing.get(session),
            reader=parts.reader,
            ip=session.info.get("ip"),
        )

    def read() -> intake.Intake:
        # The connection (if a read took one) goes back here; once more if it was lost.
        return read_retrying(session, read_once)

    def answer() -> tuple[MatterOut, bool]:
        matter, created = intake.finish(session, principal, prepared, written, parts.reader)
        out = matter_out(
            session, principal, matter, lang, grids=grids, duplicates=seen, places=places or None
        )
        session.commit()
        return out, created

    # Reading the report needs the database only for a region code or a cache due its
    # check; then it takes a worker thread. The writer's commit is awaited on the event
    # loop, which serves other requests meanwhile.
    caches = (parts.locator.cache, parts.routing)
    if body.region_code is None and all(c.fresh() for c in caches):
        prepared = read()
    else:
        prepared = await run_in_threadpool(read)
    written = await parts.writer.submit(prepared)
    # A new matter the system does not route is answered from the values written.
    seen = prepared.visible_duplicates() if written.created else None
    reads = seen is None or prepared.routes_itself
    return await run_in_threadpool(answer) if reads else answer()


# ---------------------------------------------------------------- answering


def matter_out(
    session: Session,
    principal: Principal,
    matter: Matter,
    lang: str,
    units: dict[int, str] | None = None,
    grids: dict[int, tuple[str, str]] | None = None,
    with_timeline: bool = False,
    duplicates: list[dict[str, Any]] | None = None,
    names: dict[str, str | None] | None = None,
    cal: WorkCalendar | None = None,
    places: dict[str, str] | None = None,
) -> MatterOut:
    """What the caller sees of a matter. `units`, `grids` (code and name), `names` (the
    categories' English names), `places` (region names by path): read already for a page;
    `duplicates`: the possible duplicates the caller may see, when known (else read);
    `cal`: the working calendar the time left is counted on (none: not counted)."""
    unit_name = None
    if matter.unit_id is not None:
        unit_name = (units or {}).get(matter.unit_id) or session.scalar(
            select(Unit.name).where(Unit.id == matter.unit_id)
        )
    grid: tuple[str, str] | None = None
    if matter.grid_id is not None:
        grid = (grids or {}).get(matter.grid_id) or grid_names(session, {matter.grid_id}).get(
            matter.grid_id
        )
    if places is None:
        places = place_names_unscoped(session, {matter.region_path})
    now = clock.now()
    due = due_at(matter)
    left = time_left_minutes(cal, due, now) if cal is not None and due is not None else None
    out = MatterOut(
        id=matter.id,
        number=matter.number,
        title=matter.title,
        description=matter.description,
        category_code=matter.category_code,
        channel=matter.channel,
        urgency=matter.urgency,
        risk_colour=matter.risk_colour,
        state=matter.state,
        state_name=MATTER.state_label(matter.state, lang),
        level=matter.level,
        lon=matter.lon,
        lat=matter.lat,
        address=matter.address,
        grid_code=grid[0] if grid else None,
        grid_name=grid[1] if grid else None,
        place_name=places.get(matter.region_path),
        region_path=matter.region_path,
        reporter_name=matter.reporter_name,
        reporter_phone=mask_phone(matter.reporter_phone),
        unit_id=matter.unit_id,
        unit_name=unit_name,
        merged_into_id=matter.merged_into_id,
        reported_at=matter.reported_at,
        sign_due_at=matter.sign_due_at,
        reply_due_at=matter.reply_due_at,
        resolve_due_at=matter.resolve_due_at,
        due_flagged=matter.due_flagged,
        due_at=due,
        time_left_minutes=left,
        time_left=say_time_left(cal, left, lang) if cal is not None and left is not None else None,
        pinned=is_pinned(matter.state, matter.urgency),
        pending=pending_out(principal, matter, lang),
        overdue=is_overdue(matter, now),
        supervision=matter.supervision,
        extension_until=matter.extension_until,
        rating=matter.rating,
        suggestion=suggestion_in(matter.suggestion, lang),
        category_suggestions=suggestions_in(session, matter.category_suggestions, lang, names),
        possible_duplicates=(
            visible_duplicates(session, principal, matter) if duplicates is None else duplicates
        ),
        allowed_actions=MATTER.allowed(principal, matter),
    )
    if with_timeline:
        out.timeline = [timeline_out(t, lang) for t in timeline(session, matter)]
        out.attachments = [attachment_out(a) for a in attachments_of(session, matter)]
    return out


def suggestion_in(suggestion: dict[str, Any] | None, lang: str) -> dict[str, Any] | None:
    """The routing proposal, its reason in the caller's language."""
    if not suggestion or not isinstance(suggestion.get("reason"), str):
        return suggestion
    return {**suggestion, "reason": route_reason_in(suggestion["reason"], lang)}


def grid_names(session: Session, ids: set[int]) -> dict[int, tuple[str, str]]:
    """Code and name of each grid."""
    rows = session.execute(select(Grid.id, Grid.code, Grid.name).where(Grid.id.in_(ids)))
    return {id_: (code, name) for id_, code, name in rows}


def pending_out(principal: Principal, matter: Matter, lang: str) -> PendingOut | None:
    """The request the matter waits on, and whether the caller decides it."""
    asked = MATTER.transitions.get(matter.pending_action or "")
    if asked is None or matter.pending_actor is None:
        return None
    return PendingOut(
        action=asked.name,
        label=(asked.waiting or asked.label)(lang),
        awaits=matter.pending_actor,
        reason=matter.pending_reason,
        requested_by=matter.pending_by,
        requested_at=matter.pending_at,
        mine=matter.pending_actor in MATTER.actors_of(principal, matter),
    )


def suggestions_in(
    session: Session,
    suggestions: dict[str, Any] | None,
    lang: str,
    names: dict[str, str | None] | None = None,
) -> dict[str, Any] | None:
    """The model's category suggestions, each labelled with its category's name in `lang`
    (the model's labels are the Chinese names; one it has no category for stays as is)."""
    items = (suggestions or {}).get("items") or []
    if suggestions is None or lang != "en" or not any(i.get("code") for i in items):
        return suggestions
    names = names if names is not None else english_names(session)
    return {
        **suggestions,
        "items": [{**i, "label": names.get(i.get("code") or "") or i["label"]} for i in items],
    }


def english_names(session: Session) -> dict[str, str | None]:
    rows = session.execute(select(Category.code, Category.name_en))
    return {code: name for code, name in rows}


def timeline_out(entry: TimelineEntry, lang: str) -> TimelineOut:
    """A timeline entry, with what the system wrote itself (its own name, the reasons of
    its steps) in the caller's language."""
    out = TimelineOut.model_validate(entry, from_attributes=True)
    by_system = entry.actor_id is None and entry.actor_name == SYSTEM_ACTOR
    if by_system:
        out.actor_name = SYSTEM_NAME(lang)
    out.reason = reason_in(entry.action, entry.reason, by_system, lang)
    detail = out.detail
    if detail and isinstance(detail.get("route_reason"), str):
        detail = {**detail, "route_reason": route_reason_in(detail["route_reason"], lang)}
    route = detail.get("route") if detail else None
    if detail and isinstance(route, dict) and isinstance(route.get("reason"), str):
        detail = {**detail, "route": {**route, "reason": route_reason_in(route["reason"], lang)}}
    out.detail = detail
    return out


def attachment_out(row: Attachment) -> AttachmentOut:
    return AttachmentOut(
        id=row.id,
        sha256=row.sha256,
        content_type=row.content_type,
        size=row.size,
        stage=row.stage,
        created_at=row.created_at,
        url=f"/api/attachments/{row.id}",
    )


def read_one(
    session: Session, principal: Principal, cal: WorkCalendar, matter_id: int, lang: str
) -> MatterOut:
    """A matter with its timeline and photos; the reporter's phone in full for those who
    may see it (audited)."""
    matter = read_matter(session, principal, matter_id)
    out = matter_out(session, principal, matter, lang, with_timeline=True, cal=cal)
    out.reporter_phone = read_reporter_phone(session, principal, matter, out.reporter_phone)
    return out


def act_and_answer(
    session: Session,
    principal: Principal,
    cal: WorkCalendar,
    matter_id: int,
    action: str,
    payload: Mapping[str, Any],
    lang: str,
) -> MatterOut:
    matter = act(session, principal, cal, matter_id, action, payload)
    return matter_out(session, principal, matter, lang, with_timeline=True, cal=cal)


def read_page(
    session: Session, principal: Principal, cal: WorkCalendar, f: MatterFilter, lang: str
) -> MatterPage:
    """One page of the matters the caller may see, with the count per state under the same
    filters (the inbox's tabs)."""
    matters, total = read_matters(session, principal, f)
    unit_ids = {m.unit_id for m in matters if m.unit_id}
    units = dict(session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(unit_ids))).all())
    grids = grid_names(session, {m.grid_id for m in matters if m.grid_id})
    places = place_names_unscoped(session, {m.region_path for m in matters})
    names = english_names(session) if lang == "en" else None
    counts_filter = MatterFilter(**{**f.__dict__, "states": [], "limit": 1, "offset": 0})
    return MatterPage(
        total=total,
        counts=read_state_counts(session, principal, counts_filter),
        items=[
            matter_out(
                session, principal, m, lang, units, grids, names=names, cal=cal, places=places
            )
            for m in matters
        ],
    )


__all__ = [
    "DUE_FIELDS",
    "MATTER",
    "STAGES",
    "TRANSITIONS",
    "Intake",
    "MatterFilter",
    "Routing",
    "act",
    "act_and_answer",
    "add_attachment",
    "allowed_actions",
    "attachment_out",
    "attachment_path",
    "check_category",
    "deadlines",
    "load_routing",
    "matter_out",
    "message",
    "overdue_clause",
    "policy_for",
    "read_attachment",
    "read_grid_counts",
    "read_one",
    "read_page",
    "report",
    "route_by_model",
    "routing_cache",
    "scoped_matters",
    "sees",
    "suggest_route",
    "sweep",
    "watch",
]
