from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from fengqiao.assessment import service
from fengqiao.deps import PrincipalDep, SessionDep

router = APIRouter(tags=["assessment 考评"])


@router.get("/api/indicators", summary="闭环指标：结案率、按期结案率、返工率、准确派遣率…")
def indicators(
    session: SessionDep,
    principal: PrincipalDep,
    region: Annotated[str | None, Query(max_length=32)] = None,
    unit_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict[str, Any]:
    path = service.region_path(session, principal, region) if region else None
    return service.indicators(
        session, principal, region_path=path, unit_id=unit_id, start=start, end=end
    ).as_dict()


@router.get(
    "/api/dashboard",
    summary="驾驶舱：今日受理、在办、超期、指标、下级排名与 30 日趋势",
)
def dashboard(
    session: SessionDep,
    principal: PrincipalDep,
    region: Annotated[str | None, Query(max_length=32, pattern=r"^[0-9A-Za-z]+$")] = None,
) -> dict[str, Any]:
    return service.dashboard(session, principal, region).as_dict()
