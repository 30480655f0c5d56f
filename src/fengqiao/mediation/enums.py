"""The names of mediation's kinds, once each, in both languages."""

from __future__ import annotations

from fengqiao.core.labels import LabelledStr

# The statute's bounds on a committee's members (人民调解法 Art. 8: 3 to 9, women among them).
MIN_MEMBERS, MAX_MEMBERS = 3, 9


class CommitteeKind(LabelledStr):
    village = "village", "村(居)人民调解委员会", "Village or community committee"
    township = "township", "乡镇(街道)人民调解委员会", "Township or street committee"
    enterprise = "enterprise", "企事业单位人民调解委员会", "Enterprise committee"
    professional = "professional", "行业性专业性人民调解委员会", "Professional or trade committee"
    personal_brand = "personal_brand", "个人品牌调解室", "Personal-brand mediation room"
    expert_pool = "expert_pool", "调解专家库", "Expert pool"


class Specialty(LabelledStr):
    neighbour = "neighbour", "邻里纠纷", "Neighbour disputes"
    marriage_family = "marriage_family", "婚姻家庭", "Marriage and family"
    property = "property", "物业纠纷", "Property management"
    labour = "labour", "劳动争议", "Labour disputes"
    traffic = "traffic", "道路交通事故", "Road traffic accidents"
    medical = "medical", "医疗纠纷", "Medical disputes"
    land = "land", "土地山林与征地拆迁", "Land, forest and requisition"
    consumer = "consumer", "消费纠纷", "Consumer disputes"
    contract = "contract", "合同与债务", "Contracts and debts"
    marine_fishery = "marine_fishery", "渔事海事纠纷", "Marine and fishery disputes"
    environment = "environment", "环境保护", "Environmental disputes"


class Gender(LabelledStr):
    female = "female", "女", "Female"
    male = "male", "男", "Male"


class Position(LabelledStr):
    """A mediator's place in the committee: members are those the statute counts."""

    chair = "chair", "主任", "Chair"
    vice_chair = "vice_chair", "副主任", "Vice chair"
    member = "member", "委员", "Member"
    mediator = "mediator", "调解员", "Mediator"  # serves the committee, not one of its members


MEMBERS = (Position.chair, Position.vice_chair, Position.member)
