from fengqiao.core.labels import LabelledStr


class TeamRole(LabelledStr):
    """Members of a grid's "1+1+1+X" team."""

    grid_head = "grid_head", "网格长", "Grid head"
    grid_instructor = "grid_instructor", "网格指导员", "Grid instructor"
    grid_worker_fulltime = "grid_worker_fulltime", "专职网格员", "Full-time grid worker"
    grid_worker_parttime = "grid_worker_parttime", "兼职网格员", "Part-time grid worker"
    volunteer = "volunteer", "网格志愿者", "Volunteer"
    police = "police", "社区民警", "Community police officer"  # X
    lawyer = "lawyer", "法律顾问", "Legal adviser"  # X
    other = "other", "其他", "Other"
