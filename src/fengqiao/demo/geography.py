"""A synthetic island county modelled on the published figures of 洞头区 (330305): seven
townships on their islands, about 100 villages and communities, 134 base grids, 2
enterprise grids carved out of them, sea grids, and 618 grid staff. Deterministic for a
seed; pure (no I/O)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPoint, Point, Polygon, box
from shapely.geometry.base import BaseGeometry

COUNTY_CODE = "330305"

# (code suffix, name, island centre lon/lat, radius in degrees, share of the main island
# ('west'/'east') or None, villages, communities)
TOWNSHIPS = [
    ("001", "北岙街道", (121.150, 27.838), 0.034, "west", 10, 12),
    ("002", "东屏街道", (121.150, 27.838), 0.034, "east", 8, 6),
    ("003", "元觉街道", (121.102, 27.878), 0.018, None, 7, 3),
    ("004", "霓屿街道", (121.045, 27.862), 0.020, None, 6, 2),
    ("005", "灵昆街道", (120.880, 27.950), 0.032, None, 12, 4),
    ("006", "大门镇", (121.050, 27.955), 0.034, None, 15, 5),
    ("007", "鹿西乡", (121.200, 27.985), 0.020, None, 8, 2),
]
BASE_GRIDS = 134
SEA_GRIDS_PER_TOWNSHIP = {"001": 2, "002": 2, "003": 1, "004": 1, "005": 2, "006": 2, "007": 2}
STAFF = {
    "grid_head": 114,
    "grid_instructor": 104,
    "grid_worker_fulltime": 132,
    "grid_worker_parttime": 268,
}

_PLACES = [
    "东岙",
    "西岙",
    "南岙",
    "北沙",
    "小朴",
    "大朴",
    "寮顶",
    "东沙",
    "桐桥",
    "后垅",
    "岙仔",
    "垄头",
    "花岗",
    "岭背",
    "隔头",
    "口筐",
    "山坪",
    "观音礁",
    "小荆",
    "黄岙",
    "沙岙",
    "营盘基",
    "状元",
    "沙角",
    "下社",
    "上社",
    "正岙",
    "上岙",
    "下岙",
    "海滨",
    "渔港",
    "新城",
    "望海",
    "半屏",
    "仙叠",
    "鸟岛",
    "双朴",
    "九亩丘",
    "三盘",
    "浪通门",
    "岙底",
    "岙口",
    "烟墩",
    "大长坑",
    "小长坑",
    "石塘",
    "鹿栖",
    "门头",
    "中岙",
    "外岙",
    "里岙",
    "前岙",
    "后岙",
    "大岙",
    "小岙",
    "龙头",
    "虎头",
    "白迭",
    "东岸",
    "西岸",
    "南坪",
    "北坪",
    "樟岙",
    "竹屿",
    "梅岙",
    "桃源",
    "平岩",
    "乌岩",
    "红岩",
    "青山",
    "金沙",
    "银沙",
    "海星",
    "海韵",
    "渔光",
    "港湾",
    "帆影",
    "礁石",
    "潮音",
    "望潮",
    "观潮",
    "听涛",
    "海湾",
    "沙滩",
    "盐场",
    "田岙",
    "垟头",
    "江心",
    "永强",
    "兴港",
    "滨海",
    "海悦",
    "新港",
    "东港",
    "西港",
    "南港",
    "北港",
    "环岛",
    "岛湾",
    "桥头",
    "岙尾",
    "塘头",
    "浦口",
    "长堤",
    "港头",
]
_SURNAMES = "陈林王张李叶郑黄周吴潘刘徐朱杨蔡方邱谢余许胡钟曾洪章"
_GIVEN = "海霞明华建国伟芳丽军强敏静杰勇娟涛斌燕红波平辉玲鹏磊宇晨阳帆浩洋琴"


@dataclass(frozen=True)
class RegionSpec:
    code: str
    name: str
    level: int
    parent_code: str | None
    geometry: BaseGeometry


@dataclass(frozen=True)
class GridSpec:
    code: str
    name: str
    kind: str
    parent_code: str
    geometry: BaseGeometry


@dataclass(frozen=True)
class StaffSpec:
    name: str
    team_role: str
    grid_code: str
    phone: str


@dataclass(frozen=True)
class Geography:
    regions: list[RegionSpec]
    grids: list[GridSpec]
    staff: list[StaffSpec]


def _polygonal(geom: Any) -> BaseGeometry:
    """Only the area parts of a result, made valid (overlay can leave lines and points)."""
    geom = shapely.make_valid(geom)
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    parts = [p for g in parts for p in shapely.get_parts(g) if p.area > 1e-10]
    if not parts:
        return Polygon()
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def _island(rng: random.Random, lon: float, lat: float, radius: float) -> Polygon:
    """A smooth, star-shaped island outline (always a valid polygon)."""
    a, b, c = rng.uniform(0, 6.3), rng.uniform(0, 6.3), rng.uniform(1.1, 1.6)
    squash = math.cos(math.radians(lat))
    ring = []
    for i in range(72):
        t = 2 * math.pi * i / 72
        r = radius * (1 + 0.16 * math.sin(3 * t + a) + 0.08 * math.sin(5 * t + b))
        ring.append((lon + r * math.cos(t) * c / squash / 1.2, lat + r * math.sin(t) / c))
    return Polygon(ring)


def _split(rng: random.Random, area: BaseGeometry, parts: int) -> list[BaseGeometry]:
    """`area` cut into `parts` pieces by the Voronoi cells of random points inside it."""
    if parts <= 1:
        return [area]
    minx, miny, maxx, maxy = area.bounds
    points: list[Point] = []
    while len(points) < parts:
        p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if area.contains(p):
            points.append(p)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(MultiPoint(points), extend_to=area.envelope.buffer(0.1))
    )
    pieces = [_polygonal(shapely.intersection(cell, area)) for cell in cells]
    pieces = [p for p in pieces if not p.is_empty]
    pieces.sort(key=lambda g: (-round(g.centroid.y, 6), round(g.centroid.x, 6)))
    return pieces


def _person(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2))))


def _phone(rng: random.Random) -> str:
    return rng.choice(("13", "15", "18")) + "".join(str(rng.randrange(10)) for _ in range(9))


def build_geography(seed: int = 330305) -> Geography:
    rng = random.Random(seed)
    np.random.seed(seed % (2**32))

    # Land of each township.
    islands: dict[tuple[float, float], Polygon] = {}
    land: dict[str, BaseGeometry] = {}
    for suffix, _, centre, radius, share, _, _ in TOWNSHIPS:
        island = islands.get(centre) or _island(rng, centre[0], centre[1], radius)
        islands[centre] = island
        if share == "west":
            land[suffix] = _polygonal(island.intersection(box(0, 0, centre[0], 90)))
        elif share == "east":
            land[suffix] = _polygonal(island.intersection(box(centre[0], 0, 180, 90)))
        else:
            land[suffix] = island
    all_land = shapely.unary_union(list(land.values()))
    county_geom = _polygonal(all_land.convex_hull.buffer(0.04, quad_segs=4))
    sea = _polygonal(county_geom.difference(all_land))

    # The sea goes to the township whose coast is nearest: Voronoi of coastline samples.
    samples: list[Point] = []
    owner: list[str] = []
    for suffix, geom in land.items():
        boundary = geom.boundary
        for i in range(60):
            samples.append(boundary.interpolate(i / 60, normalized=True))
            owner.append(suffix)
    cells = shapely.voronoi_polygons(MultiPoint(samples), extend_to=county_geom.envelope)
    sea_of: dict[str, list[BaseGeometry]] = {s: [] for s in land}
    for cell in shapely.get_parts(cells):
        # Each cell holds exactly one sample point.
        idx = next(i for i, p in enumerate(samples) if cell.covers(p))
        sea_of[owner[idx]].append(cell)
    township_geom: dict[str, BaseGeometry] = {}
    township_sea: dict[str, BaseGeometry] = {}
    for suffix in land:
        own_sea = _polygonal(shapely.intersection(shapely.unary_union(sea_of[suffix]), sea))
        township_sea[suffix] = own_sea
        township_geom[suffix] = _polygonal(shapely.unary_union([land[suffix], own_sea]))

    regions = [RegionSpec(COUNTY_CODE, "洞头区", 2, None, county_geom)]
    grids: list[GridSpec] = []
    names = iter(rng.sample(_PLACES, len(_PLACES)))
    communities: list[tuple[str, str, BaseGeometry]] = []
    for suffix, t_name, _, _, _, villages, comms in TOWNSHIPS:
        t_code = COUNTY_CODE + suffix
        regions.append(RegionSpec(t_code, t_name, 3, COUNTY_CODE, township_geom[suffix]))
        pieces = _split(rng, land[suffix], villages + comms)
        for i, piece in enumerate(pieces, start=1):
            kind = "社区" if i <= comms else "村"
            c_code = f"{t_code}{i:03d}"
            c_name = next(names) + kind
            regions.append(RegionSpec(c_code, c_name, 4, t_code, piece))
            communities.append((c_code, c_name, piece))

    # 134 base grids: the largest communities get two.
    by_area = sorted(communities, key=lambda c: -c[2].area)
    two = {c[0] for c in by_area[: BASE_GRIDS - len(communities)]}
    base: dict[str, list[tuple[str, str, BaseGeometry]]] = {}
    for c_code, c_name, geom in communities:
        pieces = _split(rng, geom, 2 if c_code in two else 1)
        base[c_code] = [
            (f"{c_code}{i:02d}", f"{c_name}第{i}网格", p) for i, p in enumerate(pieces, start=1)
        ]

    # Two enterprise grids (专属网格), carved out of a base grid each.
    enterprise: list[GridSpec] = []
    for t_suffix, name in (("001", "洞头经济开发区专属网格"), ("002", "东屏港区专属网格")):
        c_code = min(c for c in base if c.startswith(COUNTY_CODE + t_suffix))
        code, g_name, geom = base[c_code][0]
        centre = geom.representative_point()
        carve = _polygonal(shapely.intersection(centre.buffer(0.004, quad_segs=8), geom))
        base[c_code][0] = (code, g_name, _polygonal(geom.difference(carve)))
        seq = len(base[c_code]) + 1
        enterprise.append(GridSpec(f"{c_code}{seq:02d}", name, "enterprise", c_code, carve))
    for c_code, items in base.items():
        grids += [GridSpec(code, name, "base", c_code, geom) for code, name, geom in items]
    grids += enterprise

    # Sea grids (海上网格) under their township.
    for suffix, t_name, *_ in TOWNSHIPS:
        t_code = COUNTY_CODE + suffix
        pieces = _split(rng, township_sea[suffix], SEA_GRIDS_PER_TOWNSHIP[suffix])
        for i, piece in enumerate(pieces, start=1):
            grids.append(
                GridSpec(f"{t_code}{90 + i:02d}", f"{t_name[:2]}海上网格{i}", "sea", t_code, piece)
            )
    grids.sort(key=lambda g: g.code)

    # Staff: every base grid a full-time worker; part-timers on every grid; heads and
    # instructors one grid each, round the grids in code order.
    staff: list[StaffSpec] = []
    base_codes = [g.code for g in grids if g.kind == "base"]
    all_codes = [g.code for g in grids]
    for role, count in STAFF.items():
        pool = base_codes if role == "grid_worker_fulltime" else all_codes
        for i in range(count):
            staff.append(StaffSpec(_person(rng), role, pool[i % len(pool)], _phone(rng)))
    return Geography(regions, grids, staff)
