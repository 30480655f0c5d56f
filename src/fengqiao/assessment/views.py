from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from fengqiao.assessment import drill, export, service
from fengqiao.assessment.schemas import TrailStepOut
from fengqiao.core import spreadsheet
from fengqiao.core.errors import error_responses
from fengqiao.core.fields import Id, PlaceCode, When
from fengqiao.deps import LanguageDep, PrincipalDep, SessionDep

router = APIRouter(tags=["assessment 考评"], responses=error_responses(401, 422, 503))


@router.get(
    "/api/dashboard/trail",
    response_model=list[TrailStepOut],
    summary="驾驶舱面包屑：从本人辖区到该区划或网格的各级",
    responses=error_responses(403, 404),
)
def read_trail(
    session: SessionDep, principal: PrincipalDep, region: PlaceCode
) -> list[TrailStepOut]:
    return [TrailStepOut(**asdict(s)) for s in drill.read_trail(session, principal, region)]


@router.get(
    "/api/indicators",
    summary="闭环指标：结案率、按期结案率、返工率、准确派遣率…",
    responses=error_responses(403, 404),
)
def read_indicators(
    session: SessionDep,
    principal: PrincipalDep,
    region: PlaceCode | None = None,
    unit_id: Id | None = None,
    start: When | None = None,
    end: When | None = None,
) -> dict[str, Any]:
    path = service.read_region_path(session, principal, region) if region else None
    return service.read_indicators(
        session, principal, region_path=path, unit_id=unit_id, start=start, end=end
    ).as_dict()


@router.get(
    "/api/dashboard",
    summary="驾驶舱：今日受理、在办、超期、指标、下级排名与 30 日趋势",
    responses=error_responses(403, 404),
)
def read_dashboard(
    session: SessionDep,
    principal: PrincipalDep,
    region: PlaceCode | None = None,
) -> dict[str, Any]:
    return service.read_dashboard(session, principal, region).as_dict()


# ---------------------------------------------------------------- export (Excel)


@router.get(
    "/api/dashboard/ranking/export",
    response_class=Response,
    summary="导出驾驶舱下级排名（Excel；参数与驾驶舱相同）",
    responses={**spreadsheet.XLSX_RESPONSE, **error_responses(403, 404)},
)
def export_ranking(
    session: SessionDep,
    principal: PrincipalDep,
    lang: LanguageDep,
    region: PlaceCode | None = None,
) -> Response:
    return spreadsheet.response(export.export_ranking(session, principal, region, lang))
