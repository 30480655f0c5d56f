"""The closed loop's vocabularies, each value with its name in both languages."""

from fengqiao.core.labels import LabelledInt, LabelledStr


class MatterState(LabelledStr):
    reported = "reported", "待受理", "Reported"
    accepted = "accepted", "已受理", "Accepted"  # awaiting dispatch at its current level
    rejected = "rejected", "不予受理", "Rejected"
    merged = "merged", "已合并", "Merged"
    dispatched = "dispatched", "已派遣", "Dispatched"  # awaiting the unit's signature
    in_progress = "in_progress", "办理中", "In progress"  # signed, being handled
    handled = "handled", "已办结", "Handled"  # fed back, awaiting verification
    verifying = "verifying", "核查中", "Verifying"
    mediating = "mediating", "调解中", "In mediation"  # waits on its mediation case
    closed = "closed", "已结案", "Closed"
    evaluated = "evaluated", "已评价", "Evaluated"


OPEN_STATES = frozenset(
    {
        MatterState.reported,
        MatterState.accepted,
        MatterState.dispatched,
        MatterState.in_progress,
        MatterState.handled,
        MatterState.verifying,
        MatterState.mediating,
    }
)


class Urgency(LabelledStr):
    normal = "normal", "一般", "Normal"
    urgent = "urgent", "紧急", "Urgent"
    critical = "critical", "特急", "Critical"


class RiskColour(LabelledStr):
    green = "green", "绿色", "Green"
    blue = "blue", "蓝色", "Blue"
    yellow = "yellow", "黄色", "Yellow"
    orange = "orange", "橙色", "Orange"
    red = "red", "红色", "Red"


class Channel(LabelledStr):
    grid_app = "grid_app", "网格员 App", "Grid app"
    hotline = "hotline", "热线", "Hotline"  # one number for many hotlines
    web = "web", "网页/小程序", "Web"
    letter = "letter", "来信", "Letter"
    visit = "visit", "来访", "Visit"
    video = "video", "视频巡查", "Video patrol"
    sensor = "sensor", "感知设备", "Sensor"
    maritime = "maritime", "海上预警", "Maritime warning"
    open311 = "open311", "Open311", "Open311"
    warning = "warning", "预警规则", "Warning rule"


class Rating(LabelledStr):
    satisfied = "satisfied", "满意", "Satisfied"
    basically = "basically", "基本满意", "Basically satisfied"
    dissatisfied = "dissatisfied", "不满意", "Dissatisfied"


class Supervision(LabelledInt):
    """The ladder an overdue stage climbs: 催办 → 督办 → 黄牌 → 红牌 → 上报."""

    none = 0, "无", "None"
    reminded = 1, "催办", "Reminded"
    supervised = 2, "督办", "Supervised"
    yellow_card = 3, "黄牌督办", "Yellow card"
    red_card = 4, "红牌督办", "Red card"
    escalated = 5, "超期上报", "Escalated as overdue"


class Card(LabelledStr):
    """What a dispatcher's supervision (督办) carries."""

    normal = "normal", "普通督办", "Ordinary"
    yellow = "yellow", "黄牌督办", "Yellow card"
    red = "red", "红牌督办", "Red card"


class PhotoStage(LabelledStr):
    """When a photo was taken."""

    report = "report", "上报", "Report"
    feedback = "feedback", "反馈", "Feedback"
    verify = "verify", "核查", "Verification"
    resolve = "resolve", "办结", "Resolution"
