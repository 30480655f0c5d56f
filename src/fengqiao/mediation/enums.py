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


# ---------------------------------------------------------------- cases


class CaseState(LabelledStr):
    consulting = "consulting", "在线咨询", "Consulting"  # the ODR funnel's first step
    evaluating = "evaluating", "在线评估", "Evaluating"
    applied = "applied", "待受理", "Applied"
    accepted = "accepted", "已受理", "Accepted"  # awaiting its mediators
    assigned = "assigned", "已指派", "Assigned"  # awaiting the parties' being informed
    informed = "informed", "已告知", "Informed"
    investigating = "investigating", "调查中", "Investigating"
    mediating = "mediating", "调解中", "Mediating"
    signing = "signing", "协议待签署", "Agreement awaiting signatures"
    effective = "effective", "协议履行中", "Agreement in effect"
    confirming = "confirming", "司法确认中", "Judicial confirmation pending"
    closed = "closed", "已结案", "Closed"
    terminated = "terminated", "调解终止", "Terminated"
    arbitrating = "arbitrating", "已转仲裁", "Referred to arbitration"
    litigating = "litigating", "已转诉讼", "Referred to litigation"
    refused = "refused", "不予受理", "Refused"
    withdrawn = "withdrawn", "已撤回", "Withdrawn"


ENDED_STATES = frozenset(
    {CaseState.closed, CaseState.litigating, CaseState.refused, CaseState.withdrawn}
)
# Once a case has left mediation's hands, or not yet reached them, no clock of its runs.
UNTIMED_STATES = ENDED_STATES | {
    CaseState.consulting,
    CaseState.evaluating,
    CaseState.applied,
    CaseState.effective,
    CaseState.confirming,
    CaseState.terminated,
    CaseState.arbitrating,
}


class CaseKind(LabelledStr):
    ordinary = "ordinary", "一般纠纷", "Ordinary dispute"
    sea = "sea", "海上纠纷", "Dispute at sea"  # 海上枫桥: its six steps


class CaseSource(LabelledStr):
    application = "application", "当事人申请", "A party's application"
    matter = "matter", "事件转入", "From a matter"
    initiative = "initiative", "主动调解", "The committee's initiative"
    court = "court", "法院委派", "Delegated by a court"
    online = "online", "在线矛盾纠纷化解", "Online dispute resolution"


class SeaDispute(LabelledStr):
    fishing_ground = "fishing_ground", "争抢捕捞桁地", "Fishing-ground or stake-net dispute"
    damaged_nets = "damaged_nets", "网具损毁", "Damaged nets"
    collision = "collision", "船舶碰撞", "Collision"
    crew_wages = "crew_wages", "渔民劳资纠纷", "Crew wage dispute"
    aquaculture = "aquaculture", "海域养殖区域划分", "Aquaculture area dispute"


class SeaVenue(LabelledStr):
    at_sea = "at_sea", "海上", "At sea"
    bow = "bow", "船头", "On board"
    ashore = "ashore", "陆上", "Ashore"
    committee = "committee", "调委会", "At the committee"


class CaseRisk(LabelledStr):
    """A dispute's risk colour decides who leads: red, the township or the county."""

    green = "green", "绿色", "Green"
    yellow = "yellow", "黄色", "Yellow"
    red = "red", "红色", "Red"


class PartyRole(LabelledStr):
    applicant = "applicant", "申请人", "Applicant"
    respondent = "respondent", "被申请人", "Respondent"
    third_party = "third_party", "第三人", "Third party"
    agent = "agent", "代理人", "Agent"


class PartyKind(LabelledStr):
    person = "person", "自然人", "Person"
    organisation = "organisation", "法人或其他组织", "Organisation"


class RefusalGround(LabelledStr):
    """The statutory grounds for not accepting a dispute (人民调解法 Art. 17, 若干规定)."""

    party_refuses = "party_refuses", "一方当事人明确拒绝调解", "A party clearly refuses mediation"
    accepted_elsewhere = (
        "accepted_elsewhere",
        "人民法院、公安机关或其他行政机关已受理或解决",
        "A court, the police or an administrative body has accepted or resolved it",
    )
    specialised_organ = (
        "specialised_organ",
        "法律法规规定只能由专门机关管辖处理",
        "The law leaves it to a specialised body",
    )


class Referral(LabelledStr):
    arbitration = "arbitration", "仲裁", "Arbitration"
    litigation = "litigation", "诉讼", "Litigation"
    administrative = "administrative", "行政机关处理", "An administrative body"
    none = "none", "不转处", "No referral"


class AgreementKind(LabelledStr):
    written = "written", "书面调解协议", "Written agreement"
    oral = "oral", "口头调解协议", "Oral agreement"


class SignatureMethod(LabelledStr):
    account = "account", "在线签署", "Signed online"
    scan = "scan", "上传签字扫描件", "Scan of the signed paper"


class TermState(LabelledStr):
    pending = "pending", "待履行", "Pending"
    performed = "performed", "已履行", "Performed"
    breached = "breached", "未履行", "Breached"


class CourtDecision(LabelledStr):
    confirmed = "confirmed", "裁定确认有效", "Confirmed valid"
    rejected = "rejected", "裁定驳回申请", "Application rejected"


class Outcome(LabelledStr):
    """How a case ended, for the ledger (化解是否成功)."""

    agreement = "agreement", "达成协议", "Agreement"
    compensated = "compensated", "当场赔付", "Compensated on the spot"
    terminated = "terminated", "调解不成", "Not settled"
    refused = "refused", "不予受理", "Refused"
    withdrawn = "withdrawn", "撤回申请", "Withdrawn"


SUCCESSES = frozenset({Outcome.agreement, Outcome.compensated})


class DocumentKind(LabelledStr):
    application = "application", "人民调解申请书", "Application"
    acceptance = "acceptance", "受理通知书", "Notice of acceptance"
    refusal = "refusal", "不予受理通知书", "Notice of refusal"
    notice_of_rights = "notice_of_rights", "人民调解告知书", "Notice of rights"
    session_record = "session_record", "调解笔录", "Session record"
    agreement = "agreement", "人民调解协议书", "Mediation agreement"
    follow_up = "follow_up", "回访记录", "Follow-up record"
    confirmation = "confirmation", "司法确认申请书", "Application for judicial confirmation"


class Thread(LabelledStr):
    """A case's message threads: the joint one, and each party's caucus with the mediators
    (背靠背), whose key is `caucus:{party id}`."""

    joint = "joint", "共同沟通", "Joint thread"
    caucus = "caucus", "背靠背沟通", "Private caucus"


class FunnelStage(LabelledStr):
    """The online funnel (咨询 → 评估 → 调解 → 仲裁 → 诉讼)."""

    consultation = "consultation", "在线咨询", "Consultation"
    evaluation = "evaluation", "在线评估", "Evaluation"
    mediation = "mediation", "在线调解", "Mediation"
    arbitration = "arbitration", "在线仲裁", "Arbitration"
    litigation = "litigation", "在线诉讼", "Litigation"
