"""Parsing and checking polygons that arrive as GeoJSON."""

from __future__ import annotations

import json
import math
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from fengqiao.core.errors import Invalid

# Intersections smaller than this (deg², about 0.01 m²) are rounding, not overlap.
OVERLAP_TOLERANCE = 1e-12
# How far (degrees, about 0.1 mm) a child may stick out of its parent.
COVER_TOLERANCE = 1e-9


def parse_polygon(geojson: Any) -> BaseGeometry:
    """A valid Polygon or MultiPolygon in lon/lat, or Invalid saying why not."""
    if isinstance(geojson, str):
        try:
            geojson = json.loads(geojson)
        except ValueError:
            raise Invalid("几何数据不是合法的 JSON", "Geometry is not valid JSON") from None
    if not isinstance(geojson, dict) or "type" not in geojson:
        raise Invalid("几何数据不是 GeoJSON 对象", "Geometry is not a GeoJSON object")
    if geojson.get("type") not in ("Polygon", "MultiPolygon"):
        raise Invalid(
            "几何类型应为 Polygon 或 MultiPolygon，收到 {t}",
            "Geometry must be a Polygon or MultiPolygon, got {t}",
            t=str(geojson.get("type"))[:40],
        )
    try:
        geom = shape(geojson)
    except Exception:  # shapely raises several types for malformed coordinates
        raise Invalid("GeoJSON 坐标结构不正确", "Malformed GeoJSON coordinates") from None
    if geom.is_empty:
        raise Invalid("几何为空", "Geometry is empty")
    minx, miny, maxx, maxy = geom.bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise Invalid(
            "坐标超出经纬度范围（经度 ±180，纬度 ±90）",
            "Coordinates out of range (longitude ±180, latitude ±90)",
        )
    if not geom.is_valid:
        raise Invalid(
            "多边形无效：{why}", "Invalid polygon: {why}", why=shapely.is_valid_reason(geom)
        )
    return geom


def to_geojson(geom: BaseGeometry) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(shapely.to_geojson(geom))
    return result


def area_km2(geom: BaseGeometry) -> float:
    """Approximate area: degrees² scaled by the latitude's cosine (good enough for figures)."""
    lat = geom.centroid.y
    return float(geom.area * 111.32 * 111.32 * math.cos(math.radians(lat)))
