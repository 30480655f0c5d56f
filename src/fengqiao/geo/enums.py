from enum import StrEnum

from fengqiao.core.labels import LabelledStr


class CoordinateSystem(StrEnum):
    """The coordinate systems a position may be given in (geo.coords converts them)."""

    wgs84 = "wgs84"
    gcj02 = "gcj02"  # 高德/腾讯
    bd09 = "bd09"  # 百度


class GridKind(LabelledStr):
    base = "base", "基础网格", "Base grid"  # 全科网格
    enterprise = "enterprise", "专属网格", "Enterprise grid"
    sea = "sea", "海上网格", "Sea grid"
