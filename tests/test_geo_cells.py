import math

from hypothesis import given
from hypothesis import strategies as st

from fengqiao.geo.cells import box_around, cell_of, cells_near

EARTH_RADIUS_M = 6_371_008.8


def _move(lon: float, lat: float, bearing: float, metres: float) -> tuple[float, float]:
    """The point `metres` from (lon, lat) along a great circle with this bearing."""
    d = metres / EARTH_RADIUS_M
    p1, l1 = math.radians(lat), math.radians(lon)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(bearing))
    l2 = l1 + math.atan2(
        math.sin(bearing) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2)
    )
    return (math.degrees(l2) + 540) % 360 - 180, math.degrees(p2)


@given(
    lon=st.floats(-179.9, 179.9),
    lat=st.floats(-70, 70),
    bearing=st.floats(0, 2 * math.pi),
    metres=st.floats(0, 500),
)
def test_every_point_within_the_radius_is_in_a_cell_near(
    lon: float, lat: float, bearing: float, metres: float
) -> None:
    other = _move(lon, lat, bearing, metres)
    assert cell_of(*other) in cells_near(lon, lat, 500)


def test_cells_near_a_point_are_few_and_hold_its_own() -> None:
    # 洞头 (27.8° N): the 500 m box spans at most 3 × 4 cells of 0.005°.
    for lon, lat in ((121.15, 27.83), (121.1549, 27.8351), (121.0, 28.0)):
        near = cells_near(lon, lat, 500)
        assert cell_of(lon, lat) in near and len(near) <= 12
    lon0, lon1, lat0, lat1 = box_around(121.15, 27.83, 500)
    assert lon0 < 121.15 < lon1 and lat0 < 27.83 < lat1
    # Cells of neighbouring squares differ; the antimeridian wraps.
    assert cell_of(121.155, 27.83) != cell_of(121.145, 27.83)
    assert cell_of(180.0, 0.0) == cell_of(-180.0, 0.0)
    # Beyond 32 bits near the poles (the column is 64-bit).
    assert 2**31 < cell_of(179.999, 89.999) < 2**63
