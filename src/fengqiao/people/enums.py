from enum import StrEnum


class UnitKind(StrEnum):
    department = "department"  # 职能部门
    station = "station"  # 站所
    platform = "platform"  # 四个平台
    centre = "centre"  # 社会治理中心 / 综合信息指挥室


class TeamRole(StrEnum):
    """Members of a grid's "1+1+1+X" team."""

    grid_head = "grid_head"  # 网格长
    grid_instructor = "grid_instructor"  # 网格指导员
    grid_worker_fulltime = "grid_worker_fulltime"  # 专职网格员
    grid_worker_parttime = "grid_worker_parttime"  # 兼职网格员
    volunteer = "volunteer"  # 网格志愿者
    police = "police"  # 社区民警 (X)
    lawyer = "lawyer"  # 法律顾问 (X)
    other = "other"


TEAM_ROLE_ZH = {
    TeamRole.grid_head: "网格长",
    TeamRole.grid_instructor: "网格指导员",
    TeamRole.grid_worker_fulltime: "专职网格员",
    TeamRole.grid_worker_parttime: "兼职网格员",
    TeamRole.volunteer: "网格志愿者",
    TeamRole.police: "社区民警",
    TeamRole.lawyer: "法律顾问",
    TeamRole.other: "其他",
}
