"""Square cells of 0.005° of latitude and longitude (about 550 m north–south), numbered over
the globe (up to 2.6 × 10⁹: a 64-bit column): a matter keeps the cell of its position, so
that "recent matters within a few hundred metres" is a few index lookups on (cell, time)
on any database. Smaller cells read fewer matters outside the circle; more of them must be
looked up (up to 12 for 500 m in China)."""

from __future__ import annotations

import math

CELL_DEGREES = 0.005
_PER_ROW = round(360 / CELL_DEGREES)  # cells around a parallel
_METRES_PER_DEGREE_LAT = 111_000.0


def box_around(lon: float, lat: float, radius_m: float) -> tuple[float, float, float, float]:
    """(lon0, lon1, lat0, lat1) of a box holding every point within `radius_m` (a little
    larger than the circle)."""
    dlat = radius_m / _METRES_PER_DEGREE_LAT
    dlon = dlat / max(math.cos(math.radians(lat)), 0.1)
    return lon - dlon, lon + dlon, lat - dlat, lat + dlat


def _index(degrees: float, origin: float) -> int:
    return math.floor((degrees + origin) / CELL_DEGREES)


def cell_of(lon: float, lat: float) -> int:
    return _index(lat, 90.0) * _PER_ROW + _index(lon, 180.0) % _PER_ROW


def cells_near(lon: float, lat: float, radius_m: float) -> list[int]:
    """The cells that may hold a point within `radius_m` of (lon, lat)."""
    lon0, lon1, lat0, lat1 = box_around(lon, lat, radius_m)
    return [
        row * _PER_ROW + column % _PER_ROW
        for row in range(_index(lat0, 90.0), _index(lat1, 90.0) + 1)
        for column in range(_index(lon0, 180.0), _index(lon1, 180.0) + 1)
    ]
