from __future__ import annotations

from typing import Annotated, Literal

import shapely
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from fengqiao.core.errors import error_responses
from fengqiao.core.fields import Flag, Limit, Offset, RegionCode, Text
from fengqiao.core.levels import Level
from fengqiao.deps import LanguageDep, PrincipalDep, SessionDep, SettingsDep
from fengqiao.geo import geometry as geo
from fengqiao.geo import search, service
from fengqiao.geo.enums import GridKind
from fengqiao.geo.models import Grid, Region
from fengqiao.geo.schemas import (
    GridBrief,
    GridCreate,
    GridOut,
    LocateManyRequest,
    LocateManyResponse,
    LocateRequest,
    LocateResponse,
    RegionCreate,
    RegionOut,
)

router = APIRouter(tags=["geo 网格"], responses=error_responses(401, 422, 503))


def _locator(request: Request) -> service.GridLocator:
    locator: service.GridLocator = request.app.state.grid_locator
    return locator


def _answer(lon: float, lat: float, ref: service.GridRef | None, lang: str) -> LocateResponse:
    if ref is None:
        return LocateResponse(
            lon=lon,
            lat=lat,
            grid=None,
            message=service.NO_GRID_EN if lang == "en" else service.NO_GRID_ZH,
        )
    return LocateResponse(
        lon=lon,
        lat=lat,
        grid=GridBrief(
            code=ref.code,
            name=ref.name,
            kind=ref.kind,
            path=ref.path,
            region_code=ref.region_code,
            region_name=ref.region_name,
        ),
    )


@router.post(
    "/api/geo/locate",
    response_model=LocateResponse,
    summary="点位落格 point → grid",
    responses=error_responses(413),
)
def locate(
    body: LocateRequest, request: Request, session: SessionDep, _: PrincipalDep, lang: LanguageDep
) -> LocateResponse:
    lon, lat = service.normalise_point(body.lon, body.lat, body.crs)
    return _answer(lon, lat, _locator(request).locate(session, lon, lat), lang)


@router.post(
    "/api/geo/locate-many",
    response_model=LocateManyResponse,
    summary="批量落格 many points → grids",
    responses=error_responses(413),
)
def locate_many(
    body: LocateManyRequest,
    request: Request,
    session: SessionDep,
    _: PrincipalDep,
    lang: LanguageDep,
) -> LocateManyResponse:
    points = [service.normalise_point(p.lon, p.lat, body.crs) for p in body.points]
    refs = _locator(request).locate_many(session, (p[0] for p in points), (p[1] for p in points))
    return LocateManyResponse(
        results=[_answer(x, y, r, lang) for (x, y), r in zip(points, refs, strict=True)]
    )


def region_out(
    session: SessionDep, region: Region, lang: str, with_geometry: bool = False
) -> RegionOut:
    parent_code = session.get(Region, region.parent_id).code if region.parent_id else None  # type: ignore[union-attr]
    geometry = (
        geo.to_geojson(shapely.from_wkb(region.geometry_wkb))
        if with_geometry and region.geometry_wkb
        else None
    )
    return RegionOut(
        code=region.code,
        name=region.name,
        level=region.level,
        level_name=Level(region.level).label(lang),
        parent_code=parent_code,
        path=region.path,
        has_geometry=region.geometry_wkb is not None,
        geometry=geometry,
    )


@router.get(
    "/api/regions",
    response_model=list[RegionOut],
    summary="行政区划列表",
    responses=error_responses(403, 404),
)
def read_regions(
    session: SessionDep,
    principal: PrincipalDep,
    lang: LanguageDep,
    parent: RegionCode | None = None,
    level: Annotated[
        int | None,
        Query(
            ge=Level.community.value,
            le=Level.province.value,
            description="层级：2 村社区、3 乡镇街道、4 区县、5 市、6 省 · "
            "level: 2 village/community, 3 township, 4 county, 5 city, 6 province",
        ),
    ] = None,
    limit: Annotated[int, Limit(2000)] = 500,
    offset: Offset = 0,
) -> list[RegionOut]:
    regions = service.read_regions(
        session, principal, parent_code=parent, level=level, limit=limit, offset=offset
    )
    return [region_out(session, r, lang) for r in regions]


@router.get(
    "/api/regions/{code}",
    response_model=RegionOut,
    summary="行政区划详情",
    responses=error_responses(403, 404),
)
def read_region(
    code: RegionCode, session: SessionDep, principal: PrincipalDep, lang: LanguageDep
) -> RegionOut:
    region = service.read_region(session, principal, code)
    return region_out(session, region, lang, with_geometry=True)


@router.post(
    "/api/regions",
    response_model=RegionOut,
    status_code=201,
    summary="新增行政区划",
    responses=error_responses(403, 404, 409, 413),
)
def create_region(
    body: RegionCreate, session: SessionDep, principal: PrincipalDep, lang: LanguageDep
) -> RegionOut:
    region = service.create_region(
        session,
        principal,
        code=body.code,
        name=body.name,
        parent_code=body.parent_code,
        geometry=body.geometry,
    )
    return region_out(session, region, lang, with_geometry=True)


def grid_out(grid: Grid, lang: str, with_geometry: bool = False) -> GridOut:
    geometry = geo.to_geojson(service.grid_geometry(grid)) if with_geometry else None
    return GridOut(
        code=grid.code,
        name=grid.name,
        kind=grid.kind,
        kind_name=GridKind(grid.kind).label(lang),
        path=grid.path,
        region_code=grid.region.code,
        region_name=grid.region.name,
        centroid=(grid.centroid_lon, grid.centroid_lat),
        area_km2=grid.area_km2,
        geometry=geometry,
    )


@router.get(
    "/api/grids",
    response_model=list[GridOut],
    summary="网格列表",
    responses=error_responses(403, 404),
)
def read_grids(
    session: SessionDep,
    principal: PrincipalDep,
    lang: LanguageDep,
    region: RegionCode | None = None,
    kind: Annotated[GridKind | None, Query()] = None,
    geometry: Flag = False,
    limit: Annotated[int, Limit(5000)] = 500,
    offset: Offset = 0,
) -> list[GridOut]:
    grids = service.read_grids(
        session,
        principal,
        region_code=region,
        kind=kind.value if kind else None,
        limit=limit,
        offset=offset,
    )
    return [grid_out(g, lang, geometry) for g in grids]


@router.post(
    "/api/grids",
    response_model=GridOut,
    status_code=201,
    summary="新增网格",
    responses=error_responses(403, 404, 409, 413),
)
def create_grid(
    body: GridCreate,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    lang: LanguageDep,
) -> GridOut:
    grid = service.create_grid(
        session,
        principal,
        code=body.code,
        name=body.name,
        kind=body.kind,
        region_code=body.region_code,
        geometry=body.geometry,
        code_digits=settings.grid_code_digits,
    )
    _locator(request).invalidate()
    return grid_out(grid, lang, with_geometry=True)


class PlaceOut(BaseModel):
    """A region or a grid, as a picker offers it."""

    kind: Literal["region", "grid"]
    code: str
    name: str
    path: str
    level: int = Field(description="1 网格 … 6 省, the scale of core.levels")
    level_name: str = Field(description="in the caller's language (Accept-Language)")
    grid_kind: str | None = Field(description="for a grid: base, enterprise or sea")
    grid_kind_name: str | None = Field(description="for a grid, in the caller's language")
    region_name: str | None = Field(
        description="the region a grid lies in, or the region above a region (its parent)"
    )


@router.get(
    "/api/places",
    response_model=list[PlaceOut],
    summary="按名称查找区划与网格 places by name",
    responses=error_responses(403),
)
def read_places(
    session: SessionDep,
    principal: PrincipalDep,
    lang: LanguageDep,
    q: Annotated[
        str,
        Text(64, min_length=0),
        Query(description="名称中的字或代码开头 · words of the name, or the code's start"),
    ] = "",
    kind: Annotated[Literal["region", "grid"] | None, Query()] = None,
    limit: Annotated[int, Limit(50)] = 20,
) -> list[PlaceOut]:
    """The regions and grids of the caller's jurisdiction that match, best first (the name
    itself, then names that begin with the words); with no words, the top of the tree."""
    return [
        PlaceOut(
            kind=p.kind,
            code=p.code,
            name=p.name,
            path=p.path,
            level=p.level,
            level_name=Level(p.level).label(lang),
            grid_kind=p.grid_kind,
            grid_kind_name=GridKind(p.grid_kind).label(lang) if p.grid_kind else None,
            region_name=p.region_name,
        )
        for p in search.read_places(session, principal, q, kind=kind, limit=limit)
    ]
