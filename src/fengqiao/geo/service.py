"""Regions, grids and point → grid."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from fengqiao.core.errors import Conflict, Invalid, NotFound
from fengqiao.core.levels import code_level
from fengqiao.core.permissions import Action, Principal, within
from fengqiao.core.regioncodes import is_child_code
from fengqiao.core.revision import RevisionCache, bump_revision
from fengqiao.geo import geometry as geo
from fengqiao.geo.coords import CoordinateSystem, to_wgs84
from fengqiao.geo.enums import GridKind
from fengqiao.geo.index import GridIndex
from fengqiao.geo.models import Grid, Region

GRIDS_REVISION = "grids"


# ---------------------------------------------------------------- regions


def get_region_unscoped(session: Session, code: str) -> Region:
    region = session.scalar(select(Region).where(Region.code == code))
    if region is None:
        raise NotFound("行政区划", "region")
    return region


def region_path_for(parent: Region | None, code: str) -> str:
    return f"{parent.path if parent else ''}{code}/"


def scoped_regions(principal: Principal) -> Select[Region]:
    return select(Region).where(principal.scope(Region.path))


def root_paths(session: Session) -> list[str]:
    """The paths of the top-level regions: the installation's whole territory, which a
    caller must cover to change an installation-wide setting (`Principal.may_write`)."""
    return list(session.scalars(select(Region.path).where(Region.parent_id.is_(None))))


def read_regions(
    session: Session,
    principal: Principal,
    *,
    parent_code: str | None = None,
    level: int | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[Region]:
    principal.require(Action.geo_read)
    stmt = scoped_regions(principal)
    if parent_code is not None:
        parent = session.scalar(select(Region).where(Region.code == parent_code))
        if parent is None:
            raise NotFound("行政区划", "region")
        stmt = stmt.where(Region.parent_id == parent.id)
    if level is not None:
        stmt = stmt.where(Region.level == level)
    return list(session.scalars(stmt.order_by(Region.path).limit(limit).offset(offset)))


def read_region(session: Session, principal: Principal, code: str) -> Region:
    principal.require(Action.geo_read)
    region = session.scalar(scoped_regions(principal).where(Region.code == code))
    if region is None:
        raise NotFound("行政区划", "region")
    return region


def upsert_region(
    session: Session,
    *,
    code: str,
    name: str,
    parent_code: str | None,
    geometry: BaseGeometry | None,
) -> tuple[Region, bool]:
    """Create or update one region; checks the code nests in its parent's."""
    level = code_level(code)
    parent = None
    if parent_code:
        parent = session.scalar(select(Region).where(Region.code == parent_code))
        if parent is None:
            raise Invalid("上级区划 {p} 不存在", "Unknown parent region {p}", p=parent_code)
        if not is_child_code(parent.code, code):
            raise Invalid(
                "区划代码 {c} 不属于上级区划 {p}",
                "Region code {c} does not belong under {p}",
                c=code,
                p=parent.code,
            )
    wkb = shapely.to_wkb(geometry) if geometry is not None else None
    region = session.scalar(select(Region).where(Region.code == code))
    created = region is None
    if region is None:
        region = Region(
            code=code,
            name=name,
            level=level,
            parent_id=parent.id if parent else None,
            path=region_path_for(parent, code),
            geometry_wkb=wkb,
        )
        session.add(region)
    else:
        if region.parent_id != (parent.id if parent else None):
            raise Invalid(
                "不能通过导入移动区划 {c}", "Region {c} cannot be moved by import", c=code
            )
        region.name = name
        if wkb is not None:
            region.geometry_wkb = wkb
    session.flush()
    return region, created


def create_region(
    session: Session,
    principal: Principal,
    *,
    code: str,
    name: str,
    parent_code: str | None,
    geometry: dict[str, Any] | None,
) -> Region:
    principal.require(Action.geo_manage)
    geom = geo.parse_polygon(geometry) if geometry is not None else None
    if session.scalar(select(Region.id).where(Region.code == code)) is not None:
        raise Invalid("区划代码 {c} 已存在", "Region code {c} already exists", c=code)
    if parent_code is None:
        # A new top-level region widens the installation: only a caller of everywhere.
        if principal.scope_path != "/":
            raise Invalid("必须指定上级区划", "A parent region is required")
    else:
        parent = get_region_unscoped(session, parent_code)
        if not principal.may_write(parent.path):
            raise NotFound("行政区划", "region")
    region, _ = upsert_region(session, code=code, name=name, parent_code=parent_code, geometry=geom)
    session.commit()
    return region


# ---------------------------------------------------------------- grids


@dataclass(frozen=True)
class Place:
    """A region or a grid: what a jurisdiction, a filter or a ranking names."""

    code: str
    name: str
    path: str


def find_place_unscoped(
    session: Session, *, code: str | None = None, path: str | None = None
) -> Place | None:
    """The region, or else the grid, with this code (or this path)."""
    for model in (Region, Grid):
        key = model.code == code if code is not None else model.path == path
        row = session.execute(select(model.code, model.name, model.path).where(key)).first()
        if row is not None:
            return Place(*row)
    return None


def scoped_grids(principal: Principal) -> Select[Grid]:
    return select(Grid).where(principal.scope(Grid.path))


def read_grids(
    session: Session,
    principal: Principal,
    *,
    region_code: str | None = None,
    kind: str | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[Grid]:
    principal.require(Action.geo_read)
    stmt = scoped_grids(principal)
    if region_code is not None:
        region = get_region_unscoped(session, region_code)
        stmt = stmt.where(within(Grid.path, region.path))
    if kind is not None:
        stmt = stmt.where(Grid.kind == kind)
    return list(session.scalars(stmt.order_by(Grid.path).limit(limit).offset(offset)))


def read_grid(session: Session, principal: Principal, code: str) -> Grid:
    principal.require(Action.geo_read)
    grid = session.scalar(scoped_grids(principal).where(Grid.code == code))
    if grid is None:
        raise NotFound("网格", "grid")
    return grid


def check_grid_code(code: str, region: Region, digits: int) -> None:
    """Grid code = parent region code + `digits` digits of sequence."""
    suffix = code[len(region.code) :]
    if not code.startswith(region.code) or len(suffix) != digits or not suffix.isdigit():
        raise Invalid(
            "网格编码 {c} 不符合规则：应为所属区划代码 {r} 加 {d} 位顺序号",
            "Grid code {c} must be its region's code {r} followed by {d} digits",
            c=code,
            r=region.code,
            d=digits,
        )


def upsert_grid(
    session: Session, *, code: str, name: str, kind: str, region: Region, geometry: BaseGeometry
) -> tuple[Grid, bool]:
    if kind not in GridKind.__members__:
        raise Invalid("网格类型 {k} 无效", "Unknown grid kind {k}", k=kind)
    centroid = geometry.representative_point()
    values = {
        "name": name,
        "kind": kind,
        "region_id": region.id,
        "path": f"{region.path}{code}/",
        "geometry_wkb": shapely.to_wkb(geometry),
        "centroid_lon": centroid.x,
        "centroid_lat": centroid.y,
        "area_km2": geo.area_km2(geometry),
    }
    grid = session.scalar(select(Grid).where(Grid.code == code))
    created = grid is None
    if grid is None:
        grid = Grid(code=code, **values)
        session.add(grid)
    else:
        for key, value in values.items():
            setattr(grid, key, value)
    session.flush()
    return grid, created


def create_grid(
    session: Session,
    principal: Principal,
    *,
    code: str,
    name: str,
    kind: str,
    region_code: str,
    geometry: dict[str, Any],
    code_digits: int,
) -> Grid:
    principal.require(Action.geo_manage)
    geom = geo.parse_polygon(geometry)
    region = get_region_unscoped(session, region_code)
    if not principal.may_write(region.path):
        raise NotFound("行政区划", "region")
    check_grid_code(code, region, code_digits)
    if session.scalar(select(Grid.id).where(Grid.code == code)) is not None:
        raise Invalid("网格编码 {c} 已存在", "Grid code {c} already exists", c=code)
    check_place(session, kind, region, geom)
    grid, _ = upsert_grid(session, code=code, name=name, kind=kind, region=region, geometry=geom)
    bump_revision(session, GRIDS_REVISION)
    session.commit()
    return grid


def _square_metres(area_deg2: float) -> str:
    return f"{area_deg2 * 1.2e10:.0f}"  # near 30° N; enough to say how much


def check_place(session: Session, kind: str, region: Region, geom: BaseGeometry) -> None:
    """A new grid lies within its region and overlaps no grid of its kind, so that each
    point has one grid of each kind to answer for it."""
    if region.geometry_wkb:
        parent = shapely.from_wkb(region.geometry_wkb)
        if not parent.buffer(geo.COVER_TOLERANCE).covers(geom):
            raise Invalid(
                "网格超出所属区划 {r}（{n}）的范围（约 {a} 平方米）",
                "The grid lies partly outside its region {r} ({n}) (about {a} m²)",
                r=region.code,
                n=region.name,
                a=_square_metres(shapely.area(shapely.difference(geom, parent))),
            )
    rows = session.execute(select(Grid.code, Grid.geometry_wkb).where(Grid.kind == kind)).all()
    if not rows:
        return
    others = shapely.from_wkb([wkb for _, wkb in rows])
    overlaps = sorted(
        (rows[i].code, area)
        for i in shapely.STRtree(others).query(geom, predicate="intersects")
        if (area := float(shapely.area(shapely.intersection(others[i], geom))))
        > geo.OVERLAP_TOLERANCE
    )
    if overlaps:
        raise Conflict(
            "与同类网格 {g} 重叠（约 {a} 平方米），请调整边界",
            "The grid overlaps {ge} of the same kind (about {a} m²); adjust its boundary",
            g="、".join(code for code, _ in overlaps[:5]),
            ge=", ".join(code for code, _ in overlaps[:5]),
            a=_square_metres(sum(area for _, area in overlaps)),
        )


def grid_geometry(grid: Grid) -> BaseGeometry:
    return shapely.from_wkb(grid.geometry_wkb)


# ---------------------------------------------------------------- consistency checks


@dataclass(frozen=True)
class Problem:
    kind: str  # overlap | outside_parent
    code: str
    other: str | None
    zh: str
    en: str


def find_problems(
    children: Sequence[tuple[str, str, BaseGeometry]], parents: dict[str, BaseGeometry | None]
) -> list[Problem]:
    """Overlaps between siblings (same parent) and children sticking out of their parent.

    `children` are (code, parent_code, geometry); parents without geometry are not checked.
    """
    problems: list[Problem] = []
    geoms = np.array([g for _, _, g in children], dtype=object)
    if len(geoms):
        tree = shapely.STRtree(geoms)
        left, right = tree.query(geoms, predicate="intersects")
        keep = left < right
        for i, j in zip(left[keep], right[keep], strict=True):
            ci, pi, gi = children[i]
            cj, pj, gj = children[j]
            if pi != pj:
                continue
            area = shapely.area(shapely.intersection(gi, gj))
            if area > geo.OVERLAP_TOLERANCE:
                problems.append(
                    Problem(
                        "overlap",
                        ci,
                        cj,
                        f"{ci} 与 {cj} 重叠（约 {_square_metres(area)} 平方米）",
                        f"{ci} overlaps {cj} (about {_square_metres(area)} m²)",
                    )
                )
    for code, parent_code, g in children:
        parent_geom = parents.get(parent_code)
        if parent_geom is None:
            continue
        if not parent_geom.buffer(geo.COVER_TOLERANCE).covers(g):
            outside = _square_metres(shapely.area(shapely.difference(g, parent_geom)))
            problems.append(
                Problem(
                    "outside_parent",
                    code,
                    parent_code,
                    f"{code} 超出上级区划 {parent_code} 的范围（约 {outside} 平方米）",
                    f"{code} lies partly outside its parent {parent_code} (about {outside} m²)",
                )
            )
    return problems


# ---------------------------------------------------------------- point → grid


@dataclass(frozen=True)
class GridRef:
    id: int
    code: str
    name: str
    kind: str
    path: str
    region_code: str
    region_name: str


@dataclass(frozen=True)
class LoadedGrids:
    index: GridIndex
    refs: dict[int, GridRef]


def load_grids(session: Session) -> LoadedGrids:
    rows = session.execute(
        select(
            Grid.id,
            Grid.code,
            Grid.name,
            Grid.kind,
            Grid.path,
            Grid.geometry_wkb,
            Region.code,
            Region.name,
        ).join(Region, Grid.region_id == Region.id)
    ).all()
    geoms = shapely.from_wkb([r[5] for r in rows]) if rows else []
    return LoadedGrids(
        index=GridIndex([(r[0], r[1], g) for r, g in zip(rows, geoms, strict=True)]),
        refs={r[0]: GridRef(r[0], r[1], r[2], r[3], r[4], r[6], r[7]) for r in rows},
    )


class GridLocator:
    """Point → grid over the in-memory STRtree of all grids, rebuilt on change."""

    def __init__(self) -> None:
        self.cache = RevisionCache(GRIDS_REVISION, load_grids)

    def invalidate(self) -> None:
        self.cache.invalidate()

    def locate(self, session: Session, lon: float, lat: float) -> GridRef | None:
        grids = self.cache.get(session)
        grid_id = grids.index.locate(lon, lat)
        return None if grid_id is None else grids.refs[grid_id]

    def locate_many(
        self, session: Session, lons: Iterable[float], lats: Iterable[float]
    ) -> list[GridRef | None]:
        grids = self.cache.get(session)
        ids = grids.index.locate_many(
            np.asarray(list(lons), dtype=float), np.asarray(list(lats), dtype=float)
        )
        return [None if i < 0 else grids.refs[int(i)] for i in ids]


def normalise_point(lon: float, lat: float, crs: CoordinateSystem) -> tuple[float, float]:
    return to_wgs84(lon, lat, crs)


NO_GRID_ZH = "该位置不在任何网格内"
NO_GRID_EN = "This position is not inside any grid"


# ---------------------------------------------------------------- GeoJSON import


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    rejected: bool = False
    errors: list[tuple[int | None, str | None, str, str, str]] | None = (
        None  # idx, code, kind, zh, en
    )
    warnings: list[Problem] | None = None


def _features(collection: Any) -> list[dict[str, Any]]:
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise Invalid("文件不是 GeoJSON FeatureCollection", "Not a GeoJSON FeatureCollection")
    features = collection.get("features")
    if not isinstance(features, list):
        raise Invalid("FeatureCollection 缺少 features 列表", "FeatureCollection has no features")
    return features


def _prop(feature: dict[str, Any], key: str) -> str | None:
    props = feature.get("properties") or {}
    value = props.get(key) if isinstance(props, dict) else None
    return None if value is None else str(value).strip()


Progress = Any  # a callable(advance: int) from the CLI, or None


def import_regions(
    session: Session, collection: Any, *, progress: Progress = None, strict: bool = False
) -> ImportResult:
    """Regions from a FeatureCollection (properties: code, name, parent_code; geometry may
    be null). Nothing is written if any feature is bad."""
    features = _features(collection)
    result = ImportResult(errors=[], warnings=[])
    assert result.errors is not None
    parsed: list[tuple[str, str, str | None, BaseGeometry | None]] = []
    seen: set[str] = set()
    for i, feature in enumerate(features):
        code, name = _prop(feature, "code"), _prop(feature, "name")
        try:
            if not isinstance(feature, dict) or not code or not name:
                raise Invalid("缺少 code 或 name 属性", "Missing code or name property")
            code_level(code)
            if code in seen:
                raise Invalid("区划代码重复", "Duplicate region code")
            seen.add(code)
            raw = feature.get("geometry")
            geom = geo.parse_polygon(raw) if raw is not None else None
            parsed.append((code, name, _prop(feature, "parent_code"), geom))
        except Invalid as exc:
            result.errors.append((i, code, exc.code, exc.message("zh"), exc.message("en")))
        if progress:
            progress(1)
    # Parents first: the higher levels of the tree.
    parsed.sort(key=lambda item: (-code_level(item[0]), item[0]))
    if not result.errors:
        for code, name, parent_code, geom in parsed:
            try:
                _, created = upsert_region(
                    session, code=code, name=name, parent_code=parent_code, geometry=geom
                )
            except Invalid as exc:
                result.errors.append((None, code, exc.code, exc.message("zh"), exc.message("en")))
                continue
            result.created += created
            result.updated += not created
    regions = {r.code: r for r in session.scalars(select(Region))}
    children = [(c, p, g) for c, _, p, g in parsed if g is not None and p]
    parents = {
        code: shapely.from_wkb(r.geometry_wkb) if r.geometry_wkb else None
        for code, r in regions.items()
    }
    result.warnings = find_problems(children, parents)
    return _finish(session, result, strict)


def _finish(session: Session, result: ImportResult, strict: bool) -> ImportResult:
    if result.errors or (strict and result.warnings):
        session.rollback()
        result.rejected = True
        result.created = result.updated = 0
    else:
        session.commit()
    return result


def import_grids(
    session: Session,
    collection: Any,
    *,
    code_digits: int,
    progress: Progress = None,
    strict: bool = False,
) -> ImportResult:
    """Grids from a FeatureCollection (properties: code, name, kind, region_code). Invalid
    polygons, unknown regions and bad codes reject the whole file; overlaps between
    sibling grids and grids outside their region are reported (and reject it if strict)."""
    features = _features(collection)
    result = ImportResult(errors=[], warnings=[])
    assert result.errors is not None
    regions = {r.code: r for r in session.scalars(select(Region))}
    parsed: list[tuple[str, str, str, Region, BaseGeometry]] = []
    seen: set[str] = set()
    for i, feature in enumerate(features):
        code, name = _prop(feature, "code"), _prop(feature, "name")
        try:
            if not isinstance(feature, dict) or not code or not name:
                raise Invalid("缺少 code 或 name 属性", "Missing code or name property")
            region_code = _prop(feature, "region_code") or ""
            region = regions.get(region_code)
            if region is None:
                raise Invalid("所属区划 {r} 不存在", "Unknown region {r}", r=region_code)
            check_grid_code(code, region, code_digits)
            kind = _prop(feature, "kind") or GridKind.base.value
            if kind not in GridKind.__members__:
                raise Invalid("网格类型 {k} 无效", "Unknown grid kind {k}", k=kind)
            if code in seen:
                raise Invalid("网格编码重复", "Duplicate grid code")
            seen.add(code)
            parsed.append((code, name, kind, region, geo.parse_polygon(feature.get("geometry"))))
        except Invalid as exc:
            result.errors.append((i, code, exc.code, exc.message("zh"), exc.message("en")))
        if progress:
            progress(1)
    # Check against the grids already stored under the same regions, too.
    region_ids = {r.id for _, _, _, r, _ in parsed}
    existing = session.execute(
        select(Grid.code, Region.code, Grid.geometry_wkb)
        .join(Region, Grid.region_id == Region.id)
        .where(Grid.region_id.in_(region_ids), Grid.code.not_in(seen))
    ).all()
    children = [(c, r.code, g) for c, _, _, r, g in parsed]
    children += [(c, rc, shapely.from_wkb(w)) for c, rc, w in existing]
    parents = {
        r.code: shapely.from_wkb(r.geometry_wkb) if r.geometry_wkb else None
        for _, _, _, r, _ in parsed
    }
    result.warnings = find_problems(children, parents)
    if not result.errors:
        for code, name, kind, region, geom in parsed:
            _, created = upsert_grid(
                session, code=code, name=name, kind=kind, region=region, geometry=geom
            )
            result.created += created
            result.updated += not created
        bump_revision(session, GRIDS_REVISION)
    return _finish(session, result, strict)
