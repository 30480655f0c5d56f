from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from fengqiao.assessment import service
from fengqiao.core.errors import error_responses
from fengqiao.core.fields import Id, PlaceCode, When
from fengqiao.deps import PrincipalDep, SessionDep

router = APIRouter(tags=["assessment 考评"], responses=error_responses(401, 422, 503))


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
