"""The HTTP routes of mediation cases: parse, authorise through the service, answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Path, Query, Response, UploadFile
from fastapi.concurrency import run_in_threadpool

from fengqiao.core import spreadsheet
from fengqiao.core.errors import error_responses
from fengqiao.core.fields import Flag, Limit, Offset, Text, UnitCode
from fengqiao.core.spreadsheet import XLSX_RESPONSE
from fengqiao.deps import CalendarDep, LanguageDep, PrincipalDep, SessionDep, SettingsDep
from fengqiao.mediation import cases, indicators, odr, reading, threads
from fengqiao.mediation.enums import CaseState, DocumentKind, Specialty
from fengqiao.mediation.schemas import (
    CandidateOut,
    CaseCreate,
    CaseOut,
    CasePage,
    KnowledgeIn,
    KnowledgeOut,
    MessageIn,
    MessageOut,
    ScanOut,
    ThreadOut,
    VerifyOut,
)

router = APIRouter(tags=["mediation 人民调解"], responses=error_responses(401, 422, 503))
public = APIRouter(tags=["mediation 人民调解"], responses=error_responses(422, 503))

CaseNumber = Annotated[str, Path(max_length=32, pattern=r"^TJ\d{4,}$")]
ActionName = Annotated[str, Path(max_length=64, pattern=r"^[a-z_]+$")]
ActionBody = Annotated[dict[str, Any], Body(examples=[{"note": "双方同意调解"}])]
PDF: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the document, A4 PDF",
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    }
}
MAX_PDF_BYTES = 20 << 20


@router.get("/api/mediation/cases", response_model=CasePage, summary="调解案件列表")
def read_cases(
    session: SessionDep,
    principal: PrincipalDep,
    lang: LanguageDep,
    state: CaseState | None = None,
    committee: UnitCode | None = None,
    mine: Flag = False,
    q: Annotated[str, Text(64, min_length=0), Query(description="案件名称或编号中的字")] = "",
    limit: Annotated[int, Limit(500)] = 50,
    offset: Offset = 0,
) -> CasePage:
    found, total = cases.read_cases(
        session,
        principal,
        state=state,
        committee_code=committee,
        mine=mine,
        q=q,
        limit=limit,
        offset=offset,
    )
    return CasePage(items=reading.summaries(session, found, lang), total=total)


@router.post(
    "/api/mediation/cases",
    response_model=CaseOut,
    status_code=201,
    summary="申请调解、在线咨询、事件转调解、主动调解或法院委派",
    responses=error_responses(403, 404, 409, 413),
)
def create_case(
    body: CaseCreate,
    session: SessionDep,
    principal: PrincipalDep,
    cal: CalendarDep,
    lang: LanguageDep,
) -> CaseOut:
    case = cases.create_case(session, principal, cal, body)
    return reading.case_out(session, principal, case, lang)


@router.get(
    "/api/mediation/cases/{number}",
    response_model=CaseOut,
    summary="调解案件详情；unmasked=true 时显示当事人个人信息（需权限，留痕）",
    responses=error_responses(403, 404),
)
def read_case(
    number: CaseNumber,
    session: SessionDep,
    principal: PrincipalDep,
    lang: LanguageDep,
    unmasked: Flag = False,
) -> CaseOut:
    case = cases.read_case(session, principal, number)
    return reading.case_out(session, principal, case, lang, unmasked)


@router.post(
    "/api/mediation/cases/{number}/actions/{action}",
    response_model=CaseOut,
    summary="办理调解案件：受理、指派、告知、调查、调解、协议、签署、回访、司法确认…",
    responses=error_responses(403, 404, 409, 413),
)
def act(
    number: CaseNumber,
    action: ActionName,
    body: ActionBody,
    session: SessionDep,
    principal: PrincipalDep,
    cal: CalendarDep,
    lang: LanguageDep,
) -> CaseOut:
    case = cases.take(session, principal, cal, number, action, body)
    return reading.case_out(session, principal, case, lang)


@router.get(
    "/api/mediation/cases/{number}/candidates",
    response_model=list[CandidateOut],
    summary="可指派的调解员：工作量与回避审查",
    responses=error_responses(403, 404),
)
def read_candidates(
    number: CaseNumber, session: SessionDep, principal: PrincipalDep, lang: LanguageDep
) -> list[CandidateOut]:
    case = cases.read_case(session, principal, number)
    return cases.candidates(session, principal, case, lang)


@router.get(
    "/api/mediation/cases/{number}/threads",
    response_model=list[ThreadOut],
    summary="本案可读的沟通渠道：共同沟通与背靠背",
    responses=error_responses(404),
)
def read_threads(
    number: CaseNumber, session: SessionDep, principal: PrincipalDep, lang: LanguageDep
) -> list[ThreadOut]:
    case = cases.read_case(session, principal, number)
    return threads.threads_out(session, principal, case, lang)


@router.get(
    "/api/mediation/cases/{number}/messages",
    response_model=list[MessageOut],
    summary="一个沟通渠道的消息（每次查看留痕）",
    responses=error_responses(403, 404),
)
def read_messages(
    number: CaseNumber,
    session: SessionDep,
    principal: PrincipalDep,
    thread: Annotated[str, Query(max_length=32, pattern=r"^(joint|caucus:\d{1,10})$")] = "joint",
    after: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> list[MessageOut]:
    case = cases.read_case(session, principal, number)
    found = threads.read_messages(session, principal, case, thread, after)
    return [threads.message_out(principal, m) for m in found]


@router.post(
    "/api/mediation/cases/{number}/messages",
    response_model=MessageOut,
    status_code=201,
    summary="发送消息",
    responses=error_responses(403, 404, 409, 413),
)
def post_message(
    number: CaseNumber, body: MessageIn, session: SessionDep, principal: PrincipalDep
) -> MessageOut:
    case = cases.read_case(session, principal, number)
    message = threads.post_message(session, principal, case, body.thread, body.body)
    return threads.message_out(principal, message)


@router.get(
    "/api/mediation/cases/{number}/documents/{kind}",
    summary="文书 PDF：申请书、受理通知书、告知书、笔录、协议书、回访记录、司法确认申请书",
    response_class=Response,
    responses={**PDF, **error_responses(403, 404)},
)
def read_document(
    number: CaseNumber, kind: DocumentKind, session: SessionDep, principal: PrincipalDep
) -> Response:
    case = cases.read_case(session, principal, number)
    content = reading.document_for(session, principal, case, kind)
    name = f"{case.number}-{kind.value}.pdf"
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store"},
    )


@router.post(
    "/api/mediation/cases/{number}/scans",
    response_model=ScanOut,
    status_code=201,
    summary="上传当事人签字的纸质协议扫描件",
    responses=error_responses(403, 404, 413),
)
async def upload_scan(
    number: CaseNumber,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File()],
) -> ScanOut:
    content = await file.read(settings.max_upload_bytes + 1)
    scan = await run_in_threadpool(
        cases.add_scan, session, principal, number, content, settings.max_upload_bytes
    )
    return ScanOut(id=scan.id, sha256=scan.sha256)


# ---------------------------------------------------------------- figures


@router.get("/api/mediation/indicators", summary="调解指标：按调解组织、调解员、类别、地区")
def read_indicators(
    session: SessionDep,
    principal: PrincipalDep,
    lang: LanguageDep,
    by: Annotated[str, Query(pattern="^(committee|mediator|specialty|region)$")] = "committee",
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> list[dict[str, Any]]:
    return indicators.read_indicators(session, principal, by, lang, year)


@router.get(
    "/api/mediation/indicators/export",
    summary="导出调解指标（Excel）",
    response_class=Response,
    responses={**XLSX_RESPONSE, **error_responses(403)},
)
def export_indicators(
    session: SessionDep,
    principal: PrincipalDep,
    lang: LanguageDep,
    by: Annotated[str, Query(pattern="^(committee|mediator|specialty|region)$")] = "committee",
) -> Response:
    return spreadsheet.response(indicators.export_indicators(session, principal, by, lang))


@router.get("/api/mediation/funnel", summary="在线矛盾纠纷化解漏斗：各环节转化率与用时")
def read_funnel(
    session: SessionDep, principal: PrincipalDep, lang: LanguageDep
) -> list[dict[str, Any]]:
    return indicators.read_funnel(session, principal, lang)


@router.get("/api/mediation/ledger", summary="矛盾纠纷排查化解台账")
def read_ledger(
    session: SessionDep,
    principal: PrincipalDep,
    lang: LanguageDep,
    limit: Annotated[int, Limit(1000)] = 200,
) -> list[dict[str, Any]]:
    return indicators.ledger_rows(session, principal, lang, limit)


@router.get(
    "/api/mediation/ledger/export",
    summary="导出矛盾纠纷排查化解台账（Excel）",
    response_class=Response,
    responses={**XLSX_RESPONSE, **error_responses(403)},
)
def export_ledger(session: SessionDep, principal: PrincipalDep, lang: LanguageDep) -> Response:
    return spreadsheet.response(indicators.export_ledger(session, principal, lang))


# ---------------------------------------------------------------- consultation


@router.get(
    "/api/mediation/knowledge",
    response_model=list[KnowledgeOut],
    summary="在线咨询：法律法规与常见问题知识库检索",
)
def search_knowledge(
    session: SessionDep,
    principal: PrincipalDep,
    q: Annotated[str, Text(200, min_length=0)] = "",
    specialty: Specialty | None = None,
    limit: Annotated[int, Limit(50)] = 10,
) -> list[KnowledgeOut]:
    return [
        KnowledgeOut.model_validate(e, from_attributes=True).model_copy(update={"score": s})
        for e, s in odr.search_knowledge_unscoped(session, q, specialty, limit)
    ]


@router.post(
    "/api/mediation/knowledge",
    response_model=KnowledgeOut,
    status_code=201,
    summary="新增知识库条目",
    responses=error_responses(403, 413),
)
def create_knowledge(
    body: KnowledgeIn, session: SessionDep, principal: PrincipalDep
) -> KnowledgeOut:
    entry = cases.create_knowledge(session, principal, body)
    return KnowledgeOut.model_validate(entry, from_attributes=True)


# ---------------------------------------------------------------- verification


@public.post(
    "/api/mediation/verify",
    response_model=VerifyOut,
    summary="核验调解协议书：上传所持 PDF，判断是否为签署加封的原件",
    responses=error_responses(413),
)
async def verify(session: SessionDep, file: Annotated[UploadFile, File()]) -> VerifyOut:
    """Open to anyone holding a copy: it tells only whether the copy is the sealed one,
    of which case and committee, never what the agreement says."""
    content = await file.read(MAX_PDF_BYTES + 1)
    return await run_in_threadpool(cases.verify_copy, session, content, MAX_PDF_BYTES)
