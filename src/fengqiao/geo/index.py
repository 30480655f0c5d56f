"""Point → grid, in memory.

Boundary rule: a point on a grid's boundary counts as inside it (covers semantics); when
several grids cover a point (a shared edge or corner), the grid with the smallest code
wins. Single and batch lookups follow the same rule and give the same answers.

Single lookups go through a shapely STRtree. Batches go through a bucket grid and an
even-odd test vectorised with numpy over every (point, candidate edge) pair, which is
several times faster than one GEOS call per pair; any pair whose answer is not clear-cut
in floating point (a point on or within a hair of an edge) is decided by GEOS, so both
paths agree exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

CHUNK = 65_536  # points per vectorised step: bounds the temporary arrays (~60 MB)
_AMBIGUOUS = 1e-12  # degrees: closer to an edge than this, let GEOS decide


class GridIndex:
    def __init__(self, items: Sequence[tuple[int, str, Any]]) -> None:
        # Positions follow code order, so "smallest code" is "smallest position".
        ordered = sorted(items, key=lambda item: item[1])
        self._ids: I64 = np.array([i for i, _, _ in ordered], dtype=np.int64)
        self._geoms = np.array([g for _, _, g in ordered], dtype=object)
        self._tree = shapely.STRtree(self._geoms)
        if len(ordered):
            self._build_buckets()

    def __len__(self) -> int:
        return len(self._ids)

    # ---------------------------------------------------------------- single

    def locate(self, lon: float, lat: float) -> int | None:
        # The tree tests the candidates itself; of grids sharing the point, the first.
        hits = self._tree.query(shapely.Point(lon, lat), predicate="intersects")
        return int(self._ids[hits.min()]) if len(hits) else None

    # ---------------------------------------------------------------- batch

    def _build_buckets(self) -> None:
        n = len(self._geoms)
        bounds = shapely.bounds(self._geoms)
        self._minx, self._miny = bounds[:, 0].copy(), bounds[:, 1].copy()
        self._maxx, self._maxy = bounds[:, 2].copy(), bounds[:, 3].copy()
        self._x0, self._y0 = float(bounds[:, 0].min()), float(bounds[:, 1].min())
        width = float(bounds[:, 2].max()) - self._x0
        height = float(bounds[:, 3].max()) - self._y0
        # About two buckets per grid, square-ish.
        cell = max(np.sqrt(max(width * height, 1e-18) / (2 * n)), 1e-9)
        self._cell = cell
        self._nx = max(int(width / cell) + 1, 1)
        self._ny = max(int(height / cell) + 1, 1)
        ix0 = ((bounds[:, 0] - self._x0) / cell).astype(np.int64)
        iy0 = ((bounds[:, 1] - self._y0) / cell).astype(np.int64)
        ix1 = np.minimum(((bounds[:, 2] - self._x0) / cell).astype(np.int64), self._nx - 1)
        iy1 = np.minimum(((bounds[:, 3] - self._y0) / cell).astype(np.int64), self._ny - 1)
        spans_x, spans_y = ix1 - ix0 + 1, iy1 - iy0 + 1
        per_poly = spans_x * spans_y
        poly = np.repeat(np.arange(n), per_poly)
        local = np.arange(len(poly)) - np.repeat(np.cumsum(per_poly) - per_poly, per_poly)
        bx = ix0[poly] + local % spans_x[poly]
        by = iy0[poly] + local // spans_x[poly]
        bucket = bx * self._ny + by
        order = np.lexsort((poly, bucket))  # within a bucket, in code order
        self._bucket_polys = poly[order]
        counts = np.bincount(bucket, minlength=self._nx * self._ny)
        self._bucket_start = np.concatenate(([0], np.cumsum(counts)))

        # Every ring's edges (exterior, holes, every part), grouped by grid.
        rings = shapely.get_rings(
            shapely.get_parts(self._geoms, return_index=True)[0], return_index=True
        )
        part_owner = shapely.get_parts(self._geoms, return_index=True)[1]
        ring_owner = part_owner[rings[1]]
        coords, ring_of_coord = shapely.get_coordinates(rings[0], return_index=True)
        same_ring = ring_of_coord[1:] == ring_of_coord[:-1]
        start = np.flatnonzero(same_ring)
        owner = ring_owner[ring_of_coord[start]]
        order = np.argsort(owner, kind="stable")
        start, owner = start[order], owner[order]
        self._ex1, self._ey1 = coords[start, 0], coords[start, 1]
        self._ex2, self._ey2 = coords[start + 1, 0], coords[start + 1, 1]
        edge_counts = np.bincount(owner, minlength=n)
        self._edge_start = np.concatenate(([0], np.cumsum(edge_counts)))

    def locate_many(self, lons: F64, lats: F64) -> I64:
        lons = np.asarray(lons, dtype=np.float64)
        lats = np.asarray(lats, dtype=np.float64)
        result: I64 = np.full(len(lons), -1, dtype=np.int64)
        if len(lons) == 0 or len(self._ids) == 0:
            return result
        for start in range(0, len(lons), CHUNK):
            stop = min(start + CHUNK, len(lons))
            result[start:stop] = self._chunk(lons[start:stop], lats[start:stop])
        return result

    def _chunk(self, x: F64, y: F64) -> I64:
        out: I64 = np.full(len(x), -1, dtype=np.int64)
        bx = np.floor((x - self._x0) / self._cell)
        by = np.floor((y - self._y0) / self._cell)
        inside = (bx >= 0) & (bx < self._nx) & (by >= 0) & (by < self._ny)
        pts = np.flatnonzero(inside)
        bucket = bx[pts].astype(np.int64) * self._ny + by[pts].astype(np.int64)
        first, last = self._bucket_start[bucket], self._bucket_start[bucket + 1]
        counts = last - first
        # Candidate (point, grid) pairs, in point order then code order.
        pair_pt = np.repeat(pts, counts)
        offset = np.arange(len(pair_pt)) - np.repeat(np.cumsum(counts) - counts, counts)
        pair_poly = self._bucket_polys[np.repeat(first, counts) + offset]
        px, py = x[pair_pt], y[pair_pt]
        keep = (
            (px >= self._minx[pair_poly])
            & (px <= self._maxx[pair_poly])
            & (py >= self._miny[pair_poly])
            & (py <= self._maxy[pair_poly])
        )
        pair_pt, pair_poly, px, py = pair_pt[keep], pair_poly[keep], px[keep], py[keep]
        if len(pair_pt) == 0:
            return out

        # Even-odd test over every edge of every candidate.
        e0 = self._edge_start[pair_poly]
        ecount = self._edge_start[pair_poly + 1] - e0
        pair_of_edge = np.repeat(np.arange(len(pair_pt)), ecount)
        edge = np.repeat(e0, ecount) + (
            np.arange(len(pair_of_edge)) - np.repeat(np.cumsum(ecount) - ecount, ecount)
        )
        x1, y1, x2, y2 = self._ex1[edge], self._ey1[edge], self._ex2[edge], self._ey2[edge]
        qx, qy = px[pair_of_edge], py[pair_of_edge]
        straddles = (y1 > qy) != (y2 > qy)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_cross = x1 + (qy - y1) * (x2 - x1) / (y2 - y1)
        crossing = straddles & (qx < x_cross)
        # On or within a hair of an edge, or level with a vertex (which covers horizontal
        # edges), floating point cannot be trusted: GEOS decides those pairs.
        near = straddles & (np.abs(qx - x_cross) <= _AMBIGUOUS)
        near |= np.abs(qy - y1) <= _AMBIGUOUS
        near |= np.abs(qy - y2) <= _AMBIGUOUS
        npairs = len(pair_pt)
        odd = np.bincount(pair_of_edge, weights=crossing, minlength=npairs).astype(np.int64) % 2
        doubtful = np.bincount(pair_of_edge, weights=near, minlength=npairs) > 0
        hit = odd.astype(bool)
        if doubtful.any():
            d = np.flatnonzero(doubtful)
            hit[d] = shapely.intersects_xy(self._geoms[pair_poly[d]], px[d], py[d])
        # Pairs are ordered by point, then code: the first hit of a point is its grid.
        hit_pt, hit_poly = pair_pt[hit], pair_poly[hit]
        points, first_hit = np.unique(hit_pt, return_index=True)
        out[points] = self._ids[hit_poly[first_hit]]
        return out
