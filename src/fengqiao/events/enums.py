from enum import IntEnum, StrEnum


class EventState(StrEnum):
    reported = "reported"  # 上报
    accepted = "accepted"  # 受理 (awaiting dispatch at its current level)
    rejected = "rejected"  # 不予受理
    merged = "merged"  # 合并
    dispatched = "dispatched"  # 分流交办 (awaiting the unit's signature)
    in_progress = "in_progress"  # 签收, 处置中
    handled = "handled"  # 反馈 (awaiting verification)
    verifying = "verifying"  # 核查中
    closed = "closed"  # 结案
    evaluated = "evaluated"  # 已评价


STATE_ZH = {
    EventState.reported: "待受理",
    EventState.accepted: "待派遣",
    EventState.rejected: "不予受理",
    EventState.merged: "已合并",
    EventState.dispatched: "待签收",
    EventState.in_progress: "处置中",
    EventState.handled: "待核查",
    EventState.verifying: "核查中",
    EventState.closed: "已结案",
    EventState.evaluated: "已评价",
}

OPEN_STATES = frozenset(
    {
        EventState.reported,
        EventState.accepted,
        EventState.dispatched,
        EventState.in_progress,
        EventState.handled,
        EventState.verifying,
    }
)


class Level(IntEnum):
    """Where a matter is handled: 小事不出网格、大事不出社区、难事不出街道."""

    grid = 1
    community = 2
    township = 3
    county = 4


LEVEL_ZH = {
    Level.grid: "网格",
    Level.community: "村社区",
    Level.township: "乡镇街道",
    Level.county: "区县",
}


class Urgency(StrEnum):
    normal = "normal"  # 一般
    urgent = "urgent"  # 紧急
    critical = "critical"  # 特急


URGENCY_ZH = {Urgency.normal: "一般", Urgency.urgent: "紧急", Urgency.critical: "特急"}


class RiskColour(StrEnum):
    green = "green"
    blue = "blue"
    yellow = "yellow"
    orange = "orange"
    red = "red"


class Channel(StrEnum):
    grid_app = "grid_app"  # 网格员 app
    hotline = "hotline"  # 热线 (one number for many hotlines)
    web = "web"  # 群众网页/小程序
    letter = "letter"  # 来信
    visit = "visit"  # 来访
    video = "video"  # 视频巡查
    sensor = "sensor"  # 感知设备
    maritime = "maritime"  # 海上预警
    open311 = "open311"
    warning = "warning"  # 预警规则


class Rating(StrEnum):
    satisfied = "satisfied"  # 满意
    basically = "basically"  # 基本满意
    dissatisfied = "dissatisfied"  # 不满意


class Supervision(IntEnum):
    """The ladder an overdue stage climbs: 催办 → 督办 → 黄牌 → 红牌 → 上报."""

    none = 0
    reminded = 1  # 催办
    supervised = 2  # 普通督办
    yellow_card = 3  # 黄牌督办
    red_card = 4  # 红牌督办
    escalated = 5  # 超期上报


SUPERVISION_ZH = {
    Supervision.none: "无",
    Supervision.reminded: "催办",
    Supervision.supervised: "督办",
    Supervision.yellow_card: "黄牌督办",
    Supervision.red_card: "红牌督办",
    Supervision.escalated: "超期上报",
}


class Stage(StrEnum):
    sign = "sign"  # 签收
    onsite = "onsite"  # 到场
    reply = "reply"  # 答复
    resolve = "resolve"  # 办结
