from __future__ import annotations

from collections.abc import AsyncIterable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, File, Form, Path, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent

from fengqiao.core import spreadsheet
from fengqiao.core.errors import error_responses
from fengqiao.core.fields import (
    CategoryCode,
    Flag,
    Id,
    Limit,
    Mobile,
    Offset,
    PlaceCode,
    Text,
    When,
)
from fengqiao.deps import CalendarDep, LanguageDep, PrincipalDep, SessionDep, SettingsDep
from fengqiao.matters import admin, export, service
from fengqiao.matters.enums import Channel, MatterState, PhotoStage, Urgency
from fengqiao.matters.schemas import (
    AttachmentOut,
    BulkIn,
    BulkOut,
    GridCountOut,
    MatterOut,
    MatterPage,
    PolicyIn,
    PolicyOut,
    ReportIn,
    RuleIn,
    RuleOut,
)

router = APIRouter(tags=["matters 事件闭环"], responses=error_responses(401, 422, 503))

# The closed loop's actions and the stages of a photo, listed in the document.
# Any row of the table, the test suite's throw-away ones too (GET /api/workflows/matter).
ActionName = Annotated[str, Path(max_length=64, pattern=r"^[a-z_]+$")]
# A JSON object; the action's own payload model validates it.
ActionBody = Annotated[dict[str, Any], Body(examples=[{"reason": "属于咨询类，已当场答复"}])]
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


@router.post(
    "/api/matters",
    response_model=MatterOut,
    summary="上报事件（幂等）",
    responses={
        201: {"model": MatterOut, "description": "a new matter"},
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
    lang: LanguageDep,
) -> MatterOut:
    parts: service.Intake = request.app.state.intake
    out, created = await service.report(session, principal, body, parts, lang)
    response.status_code = 201 if created else 200
    return out


def matter_filter(
    state: Annotated[list[MatterState] | None, Query(max_length=len(MatterState))] = None,
    category: CategoryCode | None = None,
    level: Annotated[int | None, Query(ge=1, le=6)] = None,
    region: Annotated[PlaceCode | None, Query(description="a region or grid code")] = None,
    unit_id: Id | None = None,
    overdue: Flag | None = None,
    channel: Channel | None = None,
    urgency: Urgency | None = None,
    reported_from: When | None = None,
    reported_to: When | None = None,
    q: Annotated[
        str | None,
        Text(100),
        Query(description="any part of the number, title, description, reporter or place"),
    ] = None,
    phone: Annotated[Mobile | None, Query(description="the reporter's phone, exact")] = None,
    pending: Annotated[
        Flag, Query(description="only requests awaiting the caller's decision (待我审批)")
    ] = False,
    pin_urgent: Annotated[
        Flag, Query(description="urgent and critical matters nobody has taken come first")
    ] = False,
    sort: Annotated[str, Query(max_length=32, pattern=r"^-?[a-z_]+$")] = "-reported_at",
    limit: Annotated[int, Limit(500)] = 50,
    offset: Offset = 0,
) -> service.MatterFilter:
    """The filters of a list of matters, one set for every endpoint that takes them."""
    return service.MatterFilter(
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
        phone=phone,
        pending=pending,
        pin_urgent=pin_urgent,
        sort=sort,
        limit=limit,
        offset=offset,
    )


MatterFilterDep = Annotated[service.MatterFilter, Depends(matter_filter)]


@router.get(
    "/api/matters",
    response_model=MatterPage,
    summary="事件列表与检索",
    responses=error_responses(403, 404),
)
def list_matters(
    f: MatterFilterDep,
    session: SessionDep,
    principal: PrincipalDep,
    cal: CalendarDep,
    lang: LanguageDep,
) -> MatterPage:
    return service.read_page(session, principal, cal, f, lang)


# Declared before /api/matters/{matter_id}, which would otherwise take the path.
# A stream's refusals are JSON, as every other error answer.
STREAM_ERRORS = {
    status: {
        **answer,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    for status, answer in error_responses(401, 422, 503).items()
}


@router.get(
    "/api/matters/stream",
    response_class=EventSourceResponse,
    responses=STREAM_ERRORS,
    summary="事件变动的实时推送（限本辖区）",
    description="Server-sent events: `ready` once, then `matter` ({id, number, title, state, "
    "state_name, urgency, version, updated_at, pinned}) for each matter the caller may see "
    "as it changes. The stream ends after a few minutes; reconnect with `since` set to the "
    "last `updated_at` received.",
)
async def stream(
    request: Request,
    principal: PrincipalDep,
    lang: LanguageDep,
    since: When | None = None,
) -> AsyncIterable[ServerSentEvent]:
    changes = service.watch(
        request.app.state.sessionmaker, principal, lang, since, request.is_disconnected
    )
    async for event, data in changes:
        if event == "ping":
            yield ServerSentEvent(comment="ping")
        else:
            yield ServerSentEvent(event=event, data=data)


@router.get(
    "/api/matters/export",
    response_class=Response,
    summary="导出事件列表（Excel；筛选与事件列表相同，导出全部符合条件的事件）",
    responses={**spreadsheet.XLSX_RESPONSE, **error_responses(403, 404, 413)},
)
def export_matters(
    f: MatterFilterDep,
    session: SessionDep,
    principal: PrincipalDep,
    cal: CalendarDep,
    lang: LanguageDep,
) -> Response:
    return spreadsheet.response(export.export_matters(session, principal, cal, f, lang))


@router.post(
    "/api/matters/bulk",
    response_model=BulkOut,
    summary="批量办理：逐件执行，失败的逐件说明原因",
    responses=error_responses(403, 404, 409, 413),
)
def bulk(
    body: BulkIn, session: SessionDep, principal: PrincipalDep, cal: CalendarDep, lang: LanguageDep
) -> BulkOut:
    return service.bulk_act(session, principal, cal, body, lang)


@router.get(
    "/api/matters/grid-counts",
    response_model=list[GridCountOut],
    summary="各网格在办、超期事件数（一张图）",
)
def grid_counts(session: SessionDep, principal: PrincipalDep) -> list[GridCountOut]:
    return [
        GridCountOut(grid_code=c.grid_code, open=c.open, overdue=c.overdue)
        for c in service.read_grid_counts(session, principal)
    ]


@router.get(
    "/api/matters/{matter_id}",
    response_model=MatterOut,
    summary="事件详情与时间线",
    responses=error_responses(404),
)
def read_matter(
    matter_id: Id, session: SessionDep, principal: PrincipalDep, cal: CalendarDep, lang: LanguageDep
) -> MatterOut:
    return service.read_one(session, principal, cal, matter_id, lang)


@router.post(
    "/api/matters/{matter_id}/actions/{action}",
    response_model=MatterOut,
    summary="办理：受理、派遣、签收、退单、延期、上报、反馈、核查、评价、催办、督办…",
    responses=error_responses(403, 404, 409, 413),
)
def act(
    matter_id: Id,
    action: ActionName,
    body: ActionBody,
    session: SessionDep,
    principal: PrincipalDep,
    cal: CalendarDep,
    lang: LanguageDep,
) -> MatterOut:
    return service.act_and_answer(session, principal, cal, matter_id, action, body, lang)


@router.post(
    "/api/matters/{matter_id}/attachments",
    response_model=AttachmentOut,
    status_code=201,
    summary="上传现场照片",
    responses=error_responses(403, 404, 413),
)
async def upload(
    matter_id: Id,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File()],
    stage: Annotated[PhotoStage, Form()] = PhotoStage.report,
) -> AttachmentOut:
    content = await file.read(settings.max_upload_bytes + 1)
    row = await run_in_threadpool(
        service.add_attachment,
        session,
        principal,
        matter_id,
        stage,
        content,
        settings.data_dir / "files",
        settings.max_upload_bytes,
    )
    return service.attachment_out(row)


@router.get(
    "/api/attachments/{attachment_id}",
    summary="查看附件（仅限可见该事件者）",
    response_class=FileResponse,
    responses={**PHOTO, **error_responses(404)},
)
def download(
    attachment_id: Id, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> FileResponse:
    row = service.read_attachment(session, principal, attachment_id)
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
    return admin.read_rules(session, principal)


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
    return admin.read_policies(session, principal)


@router.put(
    "/api/deadline-policies",
    response_model=PolicyOut,
    summary="设置办理时限",
    responses=error_responses(403, 404, 413),
)
def put_policy(body: PolicyIn, session: SessionDep, principal: PrincipalDep) -> PolicyOut:
    return admin.put_policy(session, principal, body)


@router.get("/api/categories", summary="事件类别（name 为调用者的语言，另附 name_zh、name_en）")
def categories(
    session: SessionDep, _: PrincipalDep, lang: LanguageDep
) -> list[dict[str, str | None]]:
    return admin.categories(session, lang)
