from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from fengqiao.core.fields import RegionCode, Text
from fengqiao.geo.enums import CoordinateSystem

# A GeoJSON geometry; its size is bounded by the request's (413).
Geometry = Annotated[dict[str, Any], Field(description="GeoJSON geometry, WGS84")]


class LocateRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"lon": 120.05, "lat": 30.05}]}
    )

    lon: float = Field(ge=-180, le=180, description="longitude (经度)")
    lat: float = Field(ge=-90, le=90, description="latitude (纬度)")
    crs: CoordinateSystem = Field(
        default=CoordinateSystem.wgs84,
        description="wgs84 (GPS/天地图), gcj02 (高德/腾讯) or bd09 (百度)",
    )


class Point(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class LocateManyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    points: list[Point] = Field(min_length=1, max_length=10_000)
    crs: CoordinateSystem = CoordinateSystem.wgs84


class GridBrief(BaseModel):
    code: str
    name: str
    kind: str
    path: str
    region_code: str
    region_name: str


class LocateResponse(BaseModel):
    lon: float = Field(description="WGS84")
    lat: float = Field(description="WGS84")
    grid: GridBrief | None
    message: str | None = None


class LocateManyResponse(BaseModel):
    results: list[LocateResponse]


class RegionOut(BaseModel):
    code: str
    name: str
    level: int = Field(description="2 村社区 … 6 省, the scale of core.levels")
    level_name: str = Field(description="in the caller's language (Accept-Language)")
    parent_code: str | None
    path: str
    has_geometry: bool
    geometry: dict[str, Any] | None = None


class RegionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: RegionCode
    name: Annotated[str, Text(64)]
    parent_code: RegionCode | None = None
    geometry: Geometry | None = None


class GridOut(BaseModel):
    code: str
    name: str
    kind: str
    kind_name: str
    path: str
    region_code: str
    region_name: str
    centroid: tuple[float, float]
    area_km2: float
    geometry: dict[str, Any] | None = None


class GridCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z]+$")
    name: Annotated[str, Text(128)]
    kind: Literal["base", "enterprise", "sea"]
    region_code: RegionCode
    geometry: Geometry
