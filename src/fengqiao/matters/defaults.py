"""Categories and time limits a new installation starts with (administrators change them)."""

from __future__ import annotations

# (code, name, parent)
# code, name, English name, parent
CATEGORIES: list[tuple[str, str, str, str | None]] = [
    ("dispute", "矛盾纠纷", "Disputes", None),
    ("dispute_family", "婚姻家庭邻里纠纷", "Family and neighbour disputes", "dispute"),
    ("dispute_labour", "劳资纠纷", "Labour disputes", "dispute"),
    ("maritime_fishery", "海事渔事", "Maritime and fishery", "dispute"),
    ("security", "治安、安全隐患", "Public order and hazards", None),
    ("fire_safety", "消防安全", "Fire safety", "security"),
    ("safety_production", "安全生产", "Workplace safety", "security"),
    ("food_safety", "食品卫生", "Food hygiene", "security"),
    ("urban_management", "市容环境", "Street environment", None),
    ("urban_construction", "城乡建设", "Town and village building", None),
    ("environment", "环境保护", "Environmental protection", None),
    ("transport", "交通运输", "Transport", None),
    ("labour_social", "劳动和社会保障", "Labour and social security", None),
    ("education_culture", "教育文体", "Education, culture and sport", None),
    ("commerce_tourism", "商贸旅游", "Commerce and tourism", None),
    ("health", "卫生计生", "Health and family planning", None),
    ("livelihood", "民生服务", "Public services", None),
    ("petition", "信访问题", "Petitions", None),
    ("other", "其他", "Other", None),
]

# urgency → (basis, sign, onsite, reply, resolve, ladder working hours)
# 一般: sign within 1 working day, reply within 3, resolve within 5 working days;
# 紧急: on site within 1 hour, reply within 24 hours; 特急: 2 hours to a reply.
DEADLINES: dict[str, tuple[str, float | None, float | None, float | None, float | None, float]] = {
    "normal": ("working", 1, None, 3, 5, 4.0),
    "urgent": ("natural", 1, 1, 24, 72, 2.0),
    "critical": ("natural", 0.5, 1, 2, 24, 1.0),
}
