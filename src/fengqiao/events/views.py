from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from sqlalchemy import select

from fengqiao.core import clock
from fengqiao.core.database import read_retrying
from fengqiao.core.errors import error_responses
from fengqiao.core.fields import CategoryCode, Flag, Id, Limit, Offset, PlaceCode, Text, When
from fengqiao.core.permissions import Principal
from fengqiao.core.security import mask_phone
from fengqiao.deps import PrincipalDep, SessionDep, SettingsDep
from fengqiao.events import admin, intake, service
from fengqiao.events.enums import STATE_ZH, Channel, EventState, Urgency
from fengqiao.events.lifecycle import TRANSITIONS
from fengqiao.events.models import Attachment, Event
from fengqiao.events.schemas import (
    ActionIn,
    AttachmentOut,
    EventOut,
    EventPage,
    GridCountOut,
    PolicyIn,
    PolicyOut,
    ReportIn,
    RuleIn,
    RuleOut,
    TimelineOut,
)
from fengqiao.geo.coords import to_wgs84
from fengqiao.geo.models import Grid
from fengqiao.people.models import Unit

router = APIRouter(tags=["events 事件闭环"], responses=error_responses(401, 422, 503))

# The closed loop's actions and the stages of a photo, listed in the document.
if TYPE_CHECKING:
    ActionName = str
    PhotoStage = str
else:
    ActionName = Literal[tuple(TRANSITIONS)]
    PhotoStage = Literal[service.STAGES]
# What an attachment answers with: the photo, of the type its bytes are.
PHOTO: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the photo",
        "content": {
            kind: {"schema": {"type": "string", "format": "binary"}}
            for kind in ("image/jpeg", "image/png", "image/webp", "image/heic")
        },
    }
}


def event_out(
    session: SessionDep,
    principal: Principal,
    event: Event,
    units: dict[int, str] | None = None,
    grids: dict[int, str] | None = None,
    with_timeline: bool = False,
    duplicates: list[dict[str, Any]] | None = None,
) -> EventOut:
    """`duplicates`: the possible duplicates the caller may see, when known (else read)."""
    now = clock.now()
    overdue = bool(
        (event.state == EventState.dispatched and event.sign_due_at and event.sign_due_at < now)
        or (
            event.state == EventState.in_progress
            and event.resolve_due_at
            and event.resolve_due_at < now
        )
    )
    unit_name = None
    if event.unit_id is not None:
        unit_name = (units or {}).get(event.unit_id) or session.scalar(
            select(Unit.name).where(Unit.id == event.unit_id)
        )
    grid_code = None
    if event.grid_id is not None:
        grid_code = (grids or {}).get(event.grid_id) or session.scalar(
            select(Grid.code).where(Grid.id == event.grid_id)
        )
    out = EventOut(
        id=event.id,
        number=event.number,
        title=event.title,
        description=event.description,
        category_code=event.category_code,
        channel=event.channel,
        urgency=event.urgency,
        risk_colour=event.risk_colour,
        state=event.state,
        state_name=STATE_ZH[EventState(event.state)],
        level=event.level,
        lon=event.lon,
        lat=event.lat,
        address=event.address,
        grid_code=grid_code,
        region_path=event.region_path,
        reporter_name=event.reporter_name,
        reporter_phone=mask_phone(event.reporter_phone),
        unit_id=event.unit_id,
        unit_name=unit_name,
        merged_into_id=event.merged_into_id,
        reported_at=event.reported_at,
        sign_due_at=event.sign_due_at,
        reply_due_at=event.reply_due_at,
        resolve_due_at=event.resolve_due_at,
        due_flagged=event.due_flagged,
        overdue=overdue,
        supervision=event.supervision,
        extension_until=event.extension_until,
        rating=event.rating,
        suggestion=event.suggestion,
        category_suggestions=event.category_suggestions,
        possible_duplicates=(
            service.visible_duplicates(session, principal, event)
            if duplicates is None
            else duplicates
        ),
        allowed_actions=service.allowed_actions(principal, event),
    )
    if with_timeline:
        out.timeline = [
            TimelineOut.model_validate(t, from_attributes=True)
            for t in service.timeline(session, event)
        ]
        out.attachments = [attachment_out(a) for a in service.attachments_of(session, event)]
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


@router.post(
    "/api/events",
    response_model=EventOut,
    summary="上报事件（幂等）",
    responses={
        201: {"model": EventOut, "description": "a new matter"},
        200: {"description": "the matter an earlier report with this idempotency key made"},
        **error_responses(403, 404, 409, 413),
    },
)
async def report(
    body: ReportIn,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
) -> EventOut:
    state = request.app.state
    grids: dict[int, str] = {}

    def read_once() -> intake.Intake:
        lon = lat = None
        grid = None
        if body.lon is not None and body.lat is not None:
            lon, lat = to_wgs84(body.lon, body.lat, body.crs)
            ref = state.grid_locator.locate(session, lon, lat)
            if ref is not None:
                grid, grids[ref.id] = (ref.id, ref.path), ref.code
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
            routing=state.routing.get(session),
            reader=state.reader,
            ip=session.info.get("ip"),
        )

    def read() -> intake.Intake:
        # The connection (if a read took one) goes back here; once more if it was lost.
        return read_retrying(session, read_once)

    def answer() -> tuple[EventOut, bool]:
        event, created = intake.finish(session, principal, prepared, written, state.reader)
        out = event_out(session, principal, event, grids=grids, duplicates=seen)
        session.commit()
        return out, created

    # Reading the report needs the database only for a region code or a cache due its
    # check; then it takes a worker thread. The writer's commit is awaited on the event
    # loop, which serves other requests meanwhile.
    caches = (state.grid_locator.cache, state.routing)
    if body.region_code is None and all(c.fresh() for c in caches):
        prepared = read()
    else:
        prepared = await run_in_threadpool(read)
    written = await state.intake_writer.submit(prepared)
    # A new matter the system does not route is answered from the values written.
    seen = prepared.visible_duplicates() if written.created else None
    reads = seen is None or prepared.routes_itself
    out, created = await run_in_threadpool(answer) if reads else answer()
    response.status_code = 201 if created else 200
    return out


@router.get(
    "/api/events",
    response_model=EventPage,
    summary="事件列表与检索",
    responses=error_responses(403, 404),
)
def list_events(
    session: SessionDep,
    principal: PrincipalDep,
    state: Annotated[list[EventState] | None, Query(max_length=len(EventState))] = None,
    category: CategoryCode | None = None,
    level: Annotated[int | None, Query(ge=1, le=6)] = None,
    region: PlaceCode | None = None,
    unit_id: Id | None = None,
    overdue: Flag | None = None,
    channel: Channel | None = None,
    urgency: Urgency | None = None,
    reported_from: When | None = None,
    reported_to: When | None = None,
    q: Annotated[str | None, Text(100)] = None,
    sort: Annotated[str, Query(max_length=32, pattern=r"^-?[a-z_]+$")] = "-reported_at",
    limit: Annotated[int, Limit(500)] = 50,
    offset: Offset = 0,
) -> EventPage:
    f = service.EventFilter(
        states=[s.value for s in state or []],
        category=category,
        level=level,
        region_code=region,
        unit_id=unit_id,
        overdue=overdue,
        channel=channel,
        urgency=urgency.value if urgency else None,
        reported_from=reported_from,
        reported_to=reported_to,
        q=q,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    events, total = service.list_events(session, principal, f)
    unit_ids = {e.unit_id for e in events if e.unit_id}
    grid_ids = {e.grid_id for e in events if e.grid_id}
    units = dict(session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(unit_ids))).all())
    grids = dict(session.execute(select(Grid.id, Grid.code).where(Grid.id.in_(grid_ids))).all())
    counts_filter = service.EventFilter(**{**f.__dict__, "states": [], "limit": 1, "offset": 0})
    counts = service.state_counts(session, principal, counts_filter)
    return EventPage(
        total=total,
        counts=counts,
        items=[event_out(session, principal, e, units, grids) for e in events],
    )


# Declared before /api/events/{event_id}, which would otherwise take the path.
@router.get(
    "/api/events/grid-counts",
    response_model=list[GridCountOut],
    summary="各网格在办、超期事件数（一张图）",
)
def grid_counts(session: SessionDep, principal: PrincipalDep) -> list[GridCountOut]:
    return [
        GridCountOut(grid_code=c.grid_code, open=c.open, overdue=c.overdue)
        for c in service.grid_counts(session, principal)
    ]


@router.get(
    "/api/events/{event_id}",
    response_model=EventOut,
    summary="事件详情与时间线",
    responses=error_responses(404),
)
def read_event(event_id: Id, session: SessionDep, principal: PrincipalDep) -> EventOut:
    event = service.get_event(session, principal, event_id)
    out = event_out(session, principal, event, with_timeline=True)
    out.reporter_phone = service.reporter_phone(session, principal, event, out.reporter_phone)
    return out


@router.post(
    "/api/events/{event_id}/actions/{action}",
    response_model=EventOut,
    summary="办理：受理、派遣、签收、退单、延期、上报、反馈、核查、评价、催办、督办…",
    responses=error_responses(403, 404, 409, 413),
)
def act(
    event_id: Id,
    action: ActionName,
    body: ActionIn,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
) -> EventOut:
    payload = body.model_dump(exclude_none=True, mode="json")
    if body.until is not None:
        payload["until"] = body.until
    event = service.act(
        session, principal, request.app.state.calendar.get(session), event_id, action, payload
    )
    return event_out(session, principal, event, with_timeline=True)


@router.post(
    "/api/events/{event_id}/attachments",
    response_model=AttachmentOut,
    status_code=201,
    summary="上传现场照片",
    responses=error_responses(403, 404, 413),
)
async def upload(
    event_id: Id,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File()],
    stage: Annotated[PhotoStage, Form()] = "report",
) -> AttachmentOut:
    content = await file.read(settings.max_upload_bytes + 1)
    row = await run_in_threadpool(
        service.add_attachment,
        session,
        principal,
        event_id,
        stage,
        content,
        settings.data_dir / "files",
        settings.max_upload_bytes,
    )
    return attachment_out(row)


@router.get(
    "/api/attachments/{attachment_id}",
    summary="查看附件（仅限可见该事件者）",
    response_class=FileResponse,
    responses={**PHOTO, **error_responses(404)},
)
def download(
    attachment_id: Id, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> FileResponse:
    row = service.get_attachment(session, principal, attachment_id)
    path = service.attachment_path(settings.data_dir / "files", row.sha256)
    extension = row.content_type.rsplit("/", 1)[-1].replace("jpeg", "jpg")
    return FileResponse(
        path,
        media_type=row.content_type,
        headers={
            "Cache-Control": "private, max-age=3600",
            "Content-Disposition": f'inline; filename="{row.sha256[:16]}.{extension}"',
            "X-Content-Type-Options": "nosniff",
            # Opened on its own, the file is a sandboxed document that runs nothing.
            "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
        },
    )


# ---------------------------------------------------------------- administration


@router.get(
    "/api/routing-rules",
    response_model=list[RuleOut],
    summary="分流规则",
    responses=error_responses(403),
)
def list_rules(session: SessionDep, principal: PrincipalDep) -> list[RuleOut]:
    return admin.list_rules(session, principal)


@router.post(
    "/api/routing-rules",
    response_model=RuleOut,
    status_code=201,
    summary="新增分流规则",
    responses=error_responses(403, 404, 409, 413),
)
def create_rule(body: RuleIn, session: SessionDep, principal: PrincipalDep) -> RuleOut:
    return admin.create_rule(session, principal, body)


@router.delete(
    "/api/routing-rules/{rule_id}",
    status_code=204,
    summary="停用分流规则",
    responses=error_responses(403, 404),
)
def delete_rule(rule_id: Id, session: SessionDep, principal: PrincipalDep) -> Response:
    admin.deactivate_rule(session, principal, rule_id)
    return Response(status_code=204)


@router.get(
    "/api/deadline-policies",
    response_model=list[PolicyOut],
    summary="办理时限",
    responses=error_responses(403),
)
def list_policies(session: SessionDep, principal: PrincipalDep) -> list[PolicyOut]:
    return admin.list_policies(session, principal)


@router.put(
    "/api/deadline-policies",
    response_model=PolicyOut,
    summary="设置办理时限",
    responses=error_responses(403, 404, 413),
)
def put_policy(body: PolicyIn, session: SessionDep, principal: PrincipalDep) -> PolicyOut:
    return admin.put_policy(session, principal, body)


@router.get("/api/categories", summary="事件类别")
def categories(session: SessionDep, _: PrincipalDep) -> list[dict[str, str | None]]:
    return admin.categories(session)
