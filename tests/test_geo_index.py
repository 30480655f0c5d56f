from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, box

from fengqiao.geo.index import GridIndex


def _squares() -> GridIndex:
    # Four unit squares meeting at (1, 1); codes chosen so that insertion order and code
    # order differ.
    return GridIndex(
        [
            (10, "D", box(1, 1, 2, 2)),
            (11, "A", box(0, 0, 1, 1)),
            (12, "C", box(0, 1, 1, 2)),
            (13, "B", box(1, 0, 2, 1)),
        ]
    )


def test_inside_outside_edges_and_corners() -> None:
    index = _squares()
    assert len(index) == 4
    assert index.locate(0.5, 0.5) == 11
    assert index.locate(1.5, 1.5) == 10
    assert index.locate(5, 5) is None
    assert index.locate(1.0, 0.5) == 11  # edge A|B: smallest code A
    assert index.locate(1.5, 1.0) == 13  # edge B|D: B
    assert index.locate(1.0, 1.0) == 11  # corner of all four: A
    assert index.locate(2.0, 2.0) == 10  # outer corner, only D
    lons = np.array([0.5, 1.5, 5, 1.0, 1.5, 1.0, 2.0])
    lats = np.array([0.5, 1.5, 5, 0.5, 1.0, 1.0, 2.0])
    assert index.locate_many(lons, lats).tolist() == [11, 10, -1, 11, 13, 11, 10]


def test_holes_and_multipolygons() -> None:
    ring = Polygon(box(0, 0, 4, 4).exterior.coords, [box(1, 1, 3, 3).exterior.coords])
    index = GridIndex(
        [
            (1, "Z", ring),
            (2, "Y", MultiPolygon([box(1, 1, 3, 3), box(10, 10, 11, 11)])),
        ]
    )
    assert index.locate(0.5, 0.5) == 1
    assert index.locate(2, 2) == 2  # in the hole, filled by grid Y
    assert index.locate(10.5, 10.5) == 2  # second part of the MultiPolygon
    assert index.locate(1, 2) == 2  # the hole's edge: both cover it, Y < Z
    empty_hole = GridIndex([(1, "Z", ring)])
    assert empty_hole.locate(2, 2) is None
    assert empty_hole.locate_many(np.array([2.0]), np.array([2.0])).tolist() == [-1]


def test_batch_equals_single_equals_brute_force() -> None:
    rng = np.random.default_rng(3)
    seeds = shapely.points(rng.uniform(0, 10, 300), rng.uniform(0, 10, 300))
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds)))
    cells = [shapely.intersection(c, box(0, 0, 10, 10)) for c in cells]
    items = [(i + 1000, f"G{i:04d}", c) for i, c in enumerate(cells)]
    index = GridIndex(items)
    lons, lats = rng.uniform(-1, 11, 3000), rng.uniform(-1, 11, 3000)
    # Points on vertices and edge midpoints of many cells: the tie rule and the cases
    # floating point cannot settle, which the batch path must hand to GEOS.
    vertices = shapely.get_coordinates(cells[:60])
    midpoints = (vertices[1:] + vertices[:-1]) / 2
    lons = np.concatenate([lons, vertices[:, 0], midpoints[:, 0]])
    lats = np.concatenate([lats, vertices[:, 1], midpoints[:, 1]])
    batch = index.locate_many(lons, lats)
    by_code = sorted(items, key=lambda it: it[1])
    for lon, lat, got in zip(lons, lats, batch, strict=True):
        expected = next((gid for gid, _, g in by_code if shapely.intersects_xy(g, lon, lat)), None)
        assert (None if got < 0 else int(got)) == expected
        assert index.locate(lon, lat) == expected


def test_empty_index() -> None:
    index = GridIndex([])
    assert index.locate(1, 1) is None
    assert index.locate_many(np.array([1.0]), np.array([1.0])).tolist() == [-1]
