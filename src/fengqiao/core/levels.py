"""The level of a place in the tree, from its path: grid 1, community 2, township 3,
county 4, city 5, province 6 (and 9 for the whole installation)."""

from __future__ import annotations

from fengqiao.core.regioncodes import level_of

GRID, COMMUNITY, TOWNSHIP, COUNTY = 1, 2, 3, 4


def path_level(path: str) -> int:
    if path == "/":
        return 9
    code = path.rstrip("/").rsplit("/", 1)[-1]
    if len(code) == 12:
        return COMMUNITY
    if len(code) == 9:
        return TOWNSHIP
    if len(code) == 6:
        return {0: 6, 1: 5, 2: COUNTY}[level_of(code)]
    return GRID


def ancestor_at(path: str, level: int) -> str:
    """The prefix of `path` at `level` (e.g. a grid's township), or the path itself."""
    parts = path.strip("/").split("/")
    for i in range(1, len(parts) + 1):
        prefix = "/".join(parts[:i]) + "/"
        if path_level(prefix) <= level:
            return prefix
    return path
