"""Point → grid at province scale: 110,000 grid polygons (the size of Zhejiang's grid).

Measures GridIndex batched and single lookups beside a brute-force shapely baseline (every
polygon tested for every point) measured in the same run, checks that all three agree,
and prints one JSON object on its last line.

    uv run python bench/locate.py [--grids 110000] [--points 1000000]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import shapely
from shapely.geometry import box

from fengqiao.geo.index import GridIndex

EXTENT = (118.0, 27.0, 123.0, 31.5)  # roughly Zhejiang's bounding box
TARGET_BATCH = 1_000_000  # points per second
TARGET_SINGLE_US = 50.0


def build_grids(n: int, rng: np.random.Generator) -> list[shapely.Geometry]:
    """An irregular tessellation: Voronoi cells of random seeds, clipped to the extent."""
    seeds = shapely.points(
        rng.uniform(EXTENT[0], EXTENT[2], n), rng.uniform(EXTENT[1], EXTENT[3], n)
    )
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds)))
    clipped = shapely.intersection(cells, box(*EXTENT))
    return [c for c in clipped if not c.is_empty]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--grids", type=int, default=110_000)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--single", type=int, default=20_000)
    parser.add_argument("--baseline", type=int, default=300, help="points for brute force")
    args = parser.parse_args()
    rng = np.random.default_rng(2026)

    t0 = time.perf_counter()
    polygons = build_grids(args.grids, rng)
    t_polys = time.perf_counter() - t0
    items = [(i, f"{i:08d}", g) for i, g in enumerate(polygons)]
    t0 = time.perf_counter()
    index = GridIndex(items)
    build_s = time.perf_counter() - t0
    vertices = float(np.mean(shapely.get_num_coordinates(np.array(polygons))))

    lons = rng.uniform(EXTENT[0] - 0.1, EXTENT[2] + 0.1, args.points)
    lats = rng.uniform(EXTENT[1] - 0.1, EXTENT[3] + 0.1, args.points)
    index.locate_many(lons[:1000], lats[:1000])  # warm up
    t0 = time.perf_counter()
    batch = index.locate_many(lons, lats)
    batch_s = time.perf_counter() - t0
    batch_rate = args.points / batch_s

    timings = np.empty(args.single)
    single = np.empty(args.single, dtype=np.int64)
    for i in range(args.single):
        x, y = float(lons[i]), float(lats[i])
        t0 = time.perf_counter()
        found = index.locate(x, y)
        timings[i] = time.perf_counter() - t0
        single[i] = -1 if found is None else found
    single_us = timings * 1e6

    # Brute force: every polygon against each point, in one vectorised call per point.
    geoms = np.array(polygons, dtype=object)
    t0 = time.perf_counter()
    brute = np.empty(args.baseline, dtype=np.int64)
    for i in range(args.baseline):
        hits = np.flatnonzero(shapely.intersects_xy(geoms, lons[i], lats[i]))
        brute[i] = hits[0] if len(hits) else -1  # ids are positions in code order
    baseline_rate = args.baseline / (time.perf_counter() - t0)

    agree_single = bool(np.array_equal(batch[: args.single], single))
    agree_brute = bool(np.array_equal(batch[: args.baseline], brute))
    result = {
        "n_grids": len(polygons),
        "mean_vertices": round(vertices, 1),
        "polygons_s": round(t_polys, 2),
        "build_s": round(build_s, 2),
        "points": args.points,
        "points_per_s_batched": round(batch_rate),
        "single_lookup_us_median": round(float(np.median(single_us)), 2),
        "single_lookup_us_p99": round(float(np.percentile(single_us, 99)), 2),
        "baseline_points_per_s": round(baseline_rate, 1),
        "speedup_vs_baseline": round(batch_rate / baseline_rate),
        "found_share": round(float(np.mean(batch >= 0)), 4),
        "agree_single": agree_single,
        "agree_brute_force": agree_brute,
        "target_points_per_s": TARGET_BATCH,
        "target_single_us": TARGET_SINGLE_US,
        "batched_meets_target": batch_rate >= TARGET_BATCH,
        "single_meets_target": float(np.median(single_us)) < TARGET_SINGLE_US,
    }
    print(
        f"grids {result['n_grids']:,} (mean {vertices:.1f} vertices), index built in "
        f"{build_s:.2f} s"
    )
    print(f"batched   {batch_rate:>14,.0f} points/s   (target ≥ {TARGET_BATCH:,})")
    print(
        f"single    {result['single_lookup_us_median']:>14} µs median, "
        f"{result['single_lookup_us_p99']} µs p99   (target < {TARGET_SINGLE_US:.0f} µs)"
    )
    print(f"baseline  {baseline_rate:>14,.1f} points/s   brute force over every polygon")
    print(
        f"speed-up  {result['speedup_vs_baseline']:>14,}×   agree: single {agree_single}, "
        f"brute force {agree_brute}"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
