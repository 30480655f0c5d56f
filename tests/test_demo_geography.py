"""The demo county's geography keeps the rules the importer checks."""

from __future__ import annotations

import re
from collections import Counter

import pytest
import shapely

from fengqiao.demo.geography import Geography, build_geography
from fengqiao.geo.service import find_problems


@pytest.fixture(scope="module")
def world() -> Geography:
    return build_geography()


def test_counts_match_the_published_figures(world: Geography) -> None:
    levels = Counter(r.level for r in world.regions)
    assert levels[2] == 1 and levels[3] == 7 and 90 <= levels[4] <= 110
    kinds = Counter(g.kind for g in world.grids)
    assert kinds["base"] == 134 and kinds["enterprise"] == 2 and kinds["sea"] >= 6
    assert Counter(s.team_role for s in world.staff) == {
        "grid_head": 114,
        "grid_instructor": 104,
        "grid_worker_fulltime": 132,
        "grid_worker_parttime": 268,
    }
    names = [r.name for r in world.regions if r.level == 3]
    assert names == ["北岙街道", "东屏街道", "元觉街道", "霓屿街道", "灵昆街道", "大门镇", "鹿西乡"]


def test_codes(world: Geography) -> None:
    codes = [r.code for r in world.regions] + [g.code for g in world.grids]
    assert len(codes) == len(set(codes))
    regions = {r.code: r for r in world.regions}
    for r in world.regions:
        assert re.fullmatch(r"330305(\d{3}){0,2}", r.code)
        if r.parent_code:
            assert r.code.startswith(r.parent_code) and len(r.code) == len(r.parent_code) + 3
    for g in world.grids:
        parent = regions[g.parent_code]
        assert g.code.startswith(parent.code) and len(g.code) == len(parent.code) + 2
        assert parent.level == (3 if g.kind == "sea" else 4)
    covered = {g.parent_code for g in world.grids if g.kind == "base"}
    assert covered == {r.code for r in world.regions if r.level == 4}
    base = {g.code for g in world.grids if g.kind == "base"}
    workers = {"grid_worker_fulltime", "grid_worker_parttime"}
    assert {s.grid_code for s in world.staff if s.team_role in workers} >= base
    assert all(re.fullmatch(r"1[358]\d{9}", s.phone) for s in world.staff)


def test_deterministic(world: Geography) -> None:
    again = build_geography()
    assert [g.code for g in again.grids] == [g.code for g in world.grids]
    assert all(
        a.geometry.equals_exact(b.geometry, 0)
        for a, b in zip(again.grids, world.grids, strict=True)
    )
    assert [s.name for s in again.staff] == [s.name for s in world.staff]


def test_geometry_rules(world: Geography) -> None:
    for item in [*world.regions, *world.grids]:
        assert shapely.is_valid(item.geometry) and not item.geometry.is_empty, item.code
        assert item.geometry.geom_type in ("Polygon", "MultiPolygon"), item.code
    parents = {r.code: r.geometry for r in world.regions}
    children = [(r.code, r.parent_code, r.geometry) for r in world.regions if r.parent_code]
    assert find_problems(children, parents) == []
    grids = [(g.code, g.parent_code, g.geometry) for g in world.grids]
    assert find_problems(grids, parents) == []
    # No grid overlaps any other grid, whatever their parents.
    everything = [(g.code, "all", g.geometry) for g in world.grids]
    assert find_problems(everything, {}) == []
    # Villages are land; the county's sea lies in township polygons and sea grids.
    county = parents["330305"]
    assert county.area > sum(r.geometry.area for r in world.regions if r.level == 4) * 1.5
