"""The administrators' view of notifications: what waits, what failed, and resending."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from fengqiao.core.errors import error_responses
from fengqiao.core.fields import Id, Limit, Offset
from fengqiao.deps import LanguageDep, PrincipalDep, SessionDep
from fengqiao.geo.service import read_region
from fengqiao.notify import inbox, service
from fengqiao.notify.schemas import InboxItem, NotificationPage, ResendFailedIn, ResendOut, Status

router = APIRouter(tags=["notify 通知投递"], responses=error_responses(401, 422, 503))


@router.get(
    "/api/notifications",
    response_model=NotificationPage,
    summary="通知投递记录（status=failed：投递失败、待管理员重发的）",
    responses=error_responses(403),
)
def list_notifications(
    session: SessionDep,
    principal: PrincipalDep,
    status: Status | None = None,
    limit: Annotated[int, Limit(500)] = 100,
    offset: Offset = 0,
) -> NotificationPage:
    return service.read_messages(session, principal, status=status, limit=limit, offset=offset)


@router.get(
    "/api/notifications/mine",
    response_model=list[InboxItem],
    summary="我的消息：发给本人的通知",
)
def read_inbox(
    session: SessionDep,
    principal: PrincipalDep,
    lang: LanguageDep,
    limit: Annotated[int, Limit(200)] = 50,
    offset: Offset = 0,
) -> list[InboxItem]:
    return inbox.inbox_out(inbox.read_inbox(session, principal, limit, offset), lang)


@router.post(
    "/api/notifications/{message_id}/resend",
    response_model=ResendOut,
    summary="重发一条投递失败的通知",
    responses=error_responses(403, 404, 409),
)
def resend(message_id: Id, session: SessionDep, principal: PrincipalDep) -> ResendOut:
    return ResendOut(resent=service.resend(session, principal, [message_id]))


@router.post(
    "/api/notifications/resend-failed",
    response_model=ResendOut,
    summary="重发辖区内（或某区划内）全部投递失败的通知",
    responses=error_responses(403, 404, 413),
)
def resend_failed(body: ResendFailedIn, session: SessionDep, principal: PrincipalDep) -> ResendOut:
    path = None
    if body.region_code is not None:
        path = read_region(session, principal, body.region_code).path
    return ResendOut(resent=service.resend(session, principal, region_path=path))
