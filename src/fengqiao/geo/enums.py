from enum import IntEnum, StrEnum


class GridKind(StrEnum):
    base = "base"  # 基础网格 (全科网格)
    enterprise = "enterprise"  # 专属网格
    sea = "sea"  # 海上网格


GRID_KIND_ZH = {
    GridKind.base: "基础网格",
    GridKind.enterprise: "专属网格",
    GridKind.sea: "海上网格",
}


class RegionLevel(IntEnum):
    province = 0
    city = 1
    county = 2  # 区县
    township = 3  # 乡镇街道
    community = 4  # 村社区


LEVEL_ZH = {
    RegionLevel.province: "省",
    RegionLevel.city: "市",
    RegionLevel.county: "区县",
    RegionLevel.township: "乡镇街道",
    RegionLevel.community: "村社区",
}
