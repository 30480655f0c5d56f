"""Coordinate conversion against published pairs, not only round trips."""

from __future__ import annotations

import random

import pytest

from fengqiao.geo.coords import (
    CoordinateSystem,
    bd09_to_gcj02,
    bd09_to_gcj02_approx,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

# From the test file of wandergis/coordtransform (test/app.js), input (116.404, 39.915).
WANDERGIS_IN = (116.404, 39.915)
WANDERGIS = {
    "wgs84_to_gcj02": (116.41024449916938, 39.91640428150164),
    "gcj02_to_bd09": (116.41036949371029, 39.92133699351021),
    "bd09_to_gcj02": (116.39762729119315, 39.90865673957631),
}
# From a Rust command-line tool's test constants (geotool): one point near 嘉兴, all three.
# Its GCJ-02 step differs from the common formula by ~1 cm, so it is compared at 1e-6°.
GEOTOOL = {
    "wgs84": (121.0917077, 30.6107779),
    "gcj02": (121.09626935575027, 30.608604331756705),
    "bd09": (121.10271732371203, 30.61484572185035),
}


def _close(a: tuple[float, float], b: tuple[float, float], tol: float = 1e-9) -> bool:
    return abs(a[0] - b[0]) <= tol and abs(a[1] - b[1]) <= tol


def test_published_pairs() -> None:
    assert _close(wgs84_to_gcj02(*WANDERGIS_IN), WANDERGIS["wgs84_to_gcj02"])
    assert _close(gcj02_to_bd09(*WANDERGIS_IN), WANDERGIS["gcj02_to_bd09"])
    # wandergis prints the closed-form inverse; the exact one differs by under 1e-6°.
    assert _close(bd09_to_gcj02_approx(*WANDERGIS_IN), WANDERGIS["bd09_to_gcj02"])
    assert _close(bd09_to_gcj02(*WANDERGIS_IN), WANDERGIS["bd09_to_gcj02"], 1e-6)
    assert _close(wgs84_to_gcj02(*GEOTOOL["wgs84"]), GEOTOOL["gcj02"], 1e-6)
    assert _close(gcj02_to_bd09(*GEOTOOL["gcj02"]), GEOTOOL["bd09"])
    assert _close(wgs84_to_bd09(*GEOTOOL["wgs84"]), GEOTOOL["bd09"], 1e-6)


def test_inverse_conversions_are_exact() -> None:
    # The published one-step inverses are off by metres; ours must undo the forward step.
    assert _close(gcj02_to_wgs84(*WANDERGIS["wgs84_to_gcj02"]), WANDERGIS_IN, 1e-9)
    assert _close(bd09_to_wgs84(*GEOTOOL["bd09"]), GEOTOOL["wgs84"], 1e-6)
    rng = random.Random(7)
    for _ in range(500):
        lon, lat = rng.uniform(98, 134), rng.uniform(18, 53)
        assert _close(gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat)), (lon, lat), 1e-8)
        assert _close(bd09_to_gcj02(*gcj02_to_bd09(lon, lat)), (lon, lat), 1e-9)


def test_offset_is_a_few_hundred_metres_in_china_and_none_outside() -> None:
    lon, lat = 121.15, 27.84  # 洞头
    g = wgs84_to_gcj02(lon, lat)
    assert 0.001 < abs(g[0] - lon) + abs(g[1] - lat) < 0.02
    for outside in ((-0.1276, 51.5072), (151.2, -33.9), (139.7, 35.7)):
        assert wgs84_to_gcj02(*outside) == outside
        assert gcj02_to_wgs84(*outside) == outside


@pytest.mark.parametrize("crs", list(CoordinateSystem))
def test_to_wgs84(crs: CoordinateSystem) -> None:
    assert _close(to_wgs84(*GEOTOOL[crs.value], crs), GEOTOOL["wgs84"], 1e-6)
