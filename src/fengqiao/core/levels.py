"""The one scale of levels, from the grid up: a region's level (stored in region.level), a
matter's (where it is handled), a routing rule's and a jurisdiction's. Higher is wider, so
"reaches" is `>=`; each level's names in Chinese and English are declared here only."""

from __future__ import annotations

import re

from fengqiao.core.errors import Invalid
from fengqiao.core.labels import LabelledInt


class Level(LabelledInt):
    grid = 1, "网格", "Grid"
    community = 2, "村社区", "Village / community"
    township = 3, "乡镇街道", "Township / street"
    county = 4, "区县", "County / district"
    city = 5, "市", "City"
    province = 6, "省", "Province"
    everywhere = 9, "全部", "Everywhere"  # a jurisdiction over the whole installation


# Short names of the same members, for the closed loop's rules.
GRID, COMMUNITY, TOWNSHIP, COUNTY = Level.grid, Level.community, Level.township, Level.county


# GB/T 2260 codes: 6 digits (province 330000, city 330300, county 330305), 9 (township),
# 12 (village or community).
_CODE = re.compile(r"^\d{6}(\d{3}(\d{3})?)?$")


def code_level(code: str) -> Level:
    """The level of a region code."""
    if not _CODE.match(code):
        raise Invalid(
            "区划代码格式不正确：{c}（应为 6、9 或 12 位数字）",
            "Malformed region code {c} (6, 9 or 12 digits expected)",
            c=code,  # not `code=`: that is the error's own code
        )
    if len(code) == 12:
        return Level.community
    if len(code) == 9:
        return Level.township
    if code.endswith("0000"):
        return Level.province
    if code.endswith("00"):
        return Level.city
    return Level.county


def path_level(path: str) -> Level:
    """The level of the place a path ends in (a region, or a grid below its region)."""
    if path == "/":
        return Level.everywhere
    code = path.rstrip("/").rsplit("/", 1)[-1]
    return code_level(code) if _CODE.match(code) else Level.grid


def ancestor_at(path: str, level: int) -> str:
    """The prefix of `path` at `level` (e.g. a grid's township), or the path itself."""
    parts = path.strip("/").split("/")
    for i in range(1, len(parts) + 1):
        prefix = "/".join(parts[:i]) + "/"
        if path_level(prefix) <= level:
            return prefix
    return path
