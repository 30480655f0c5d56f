"""A year of mediation cases for the demo county, on every path of the case table: refused,
withdrawn, a written agreement signed, sealed, followed up and sometimes confirmed by the
court, an oral agreement, termination with referral to arbitration or litigation, a recusal
and reassignment, an extension, the online funnel, and disputes at sea in their six steps.

Each case is taken through the table itself (`CASE.apply`, the clock frozen at each step's
moment), so its timeline, its clock, its documents and the sealed agreement's digest are
those the service makes. A path that would run past `end` stops there: the newest cases
are open in every state. Deterministic for a given seed."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.core import clock
from fengqiao.core.permissions import Principal, Role
from fengqiao.core.workcalendar import WorkCalendar
from fengqiao.core.workflow import NoPayload
from fengqiao.geo.models import Region
from fengqiao.mediation import payloads as pay
from fengqiao.mediation.actions import RED_LEADERS
from fengqiao.mediation.enums import CourtDecision, Referral, RefusalGround, SeaVenue, TermState
from fengqiao.mediation.flows import CASE
from fengqiao.mediation.models import Agreement, Case, Committee, Mediator, Party, Signature, Term
from fengqiao.people.models import User

_SURNAMES = "陈林王张李叶郑黄周吴潘刘徐朱杨蔡方邱谢余许胡钟曾洪章"
_GIVEN = "海生建国明德才志强永福金水伟军勇斌涛鹏素珍海霞美华秀英丽娟玉兰春燕雪梅静芳"

# (specialty, title, summary, facts, term) of the disputes on land.
DISPUTES = [
    (
        "neighbour",
        "楼上漏水致楼下受损纠纷",
        "楼上卫生间漏水渗到楼下，天花板受损，多次协商未果",
        "楼上住户卫生间防水层老化漏水，致楼下天花板及墙面受损",
        "修复防水层并赔偿装修损失",
    ),
    (
        "neighbour",
        "邻里通道占用纠纷",
        "邻居在公共通道堆放杂物，影响通行",
        "一方长期在两户共用通道堆放渔具杂物",
        "三日内清理通道杂物并保持畅通",
    ),
    (
        "land",
        "宅基地边界纠纷",
        "两户因宅基地边界界桩位置发生争执",
        "两户翻建房屋时对原界桩位置认识不一",
        "按村委会测量结果重新埋设界桩",
    ),
    (
        "marriage_family",
        "赡养老人纠纷",
        "兄弟三人就母亲赡养费分担发生争执",
        "老人年迈多病，子女对赡养费分担比例有争议",
        "每人每月支付赡养费八百元",
    ),
    (
        "labour",
        "渔工工资拖欠纠纷",
        "渔工反映船东拖欠休渔期前三个月工资",
        "船东因鱼价下跌资金紧张，拖欠渔工工资",
        "分两期结清拖欠工资",
    ),
    (
        "property",
        "物业费与维修纠纷",
        "业主以电梯长期故障为由拒交物业费",
        "小区电梯多次故障未及时维修，业主拒交物业费",
        "物业公司一个月内完成电梯维修",
    ),
    (
        "contract",
        "民宿租赁合同纠纷",
        "民宿经营者与房东就提前解约押金返还发生争执",
        "租期未满房东要求收回房屋，双方对押金返还有争议",
        "房东退还押金并补偿装修费用",
    ),
    (
        "consumer",
        "海鲜排档消费纠纷",
        "游客称海鲜排档称重不足并拒付",
        "游客对所点海鲜的称重结果提出异议",
        "排档退还差价并赔礼道歉",
    ),
    (
        "traffic",
        "电动车碰撞纠纷",
        "两辆电动自行车在码头路口相撞，一方受轻伤",
        "两车在无信号灯路口相撞，双方均未减速让行",
        "一方承担医疗费的百分之六十",
    ),
]
# (dispute at sea, title, summary, damage) of the disputes at sea.
SEA_DISPUTES = [
    ("damaged_nets", "拖网作业损坏定置网具纠纷", "拖网渔船作业时挂损定置张网", "定置网三顶损毁"),
    ("fishing_ground", "争抢捕捞桁地纠纷", "两船在传统作业桁地发生争抢", "张网桁杆两根损坏"),
    ("collision", "渔船碰撞纠纷", "两艘渔船夜间进港时发生碰撞", "船舷护木及栏杆受损"),
    ("crew_wages", "休渔期渔工劳资纠纷", "休渔期船东与渔工就工资结算发生争执", "拖欠工资"),
]
# Paths, with their weights.
PATHS = [
    ("written", 28),
    ("oral", 20),
    ("refused", 7),
    ("withdrawn", 4),
    ("litigation", 7),
    ("arbitration", 3),
    ("recusal", 4),
    ("extension", 5),
    ("online", 8),
    ("sea", 14),
]


@dataclass
class Walk:
    session: Session
    cal: WorkCalendar
    end: datetime
    case: Case
    at: datetime
    head: Principal
    presiding: Principal | None = None
    steps: list[str] = field(default_factory=list)

    def take(
        self,
        action: str,
        payload: BaseModel | None = None,
        after_days: float = 1.0,
        by: Principal | None = None,
        rng: random.Random | None = None,
    ) -> bool:
        """The step, `after_days` (give or take) after the last one; False when that is past
        the end of the history (the case stays where it is)."""
        spread = rng.uniform(0.5, 1.5) if rng else 1.0
        at = self.at + timedelta(days=after_days * spread)
        if at >= self.end:
            return False
        self.at = at
        t = CASE.transitions[action]
        with clock.frozen(at):
            CASE.apply(
                self.session,
                by or self.presiding or self.head,
                self.cal,
                self.case,
                t,
                payload or NoPayload(),
            )
            self.session.flush()
        self.steps.append(action)
        return True


def _name(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.sample(_GIVEN, rng.choice((1, 2))))


def _phone(rng: random.Random) -> str:
    return f"13{rng.randint(5, 9)}{rng.randint(0, 99_999_999):08d}"


def _acting(mediator: Mediator, login: User | None) -> Principal:
    """Who a step is taken by: the mediator's own account when they have one."""
    if login is not None and mediator.user_id == login.id:
        return Principal(login.id, login.username, login.display_name, frozenset({Role.mediator}))
    # A mediator with no account of their own: the step is theirs by name (actor 0).
    return Principal(0, f"mediator-{mediator.id}", mediator.name, frozenset({Role.mediator}))


def build_cases(
    session: Session, cal: WorkCalendar, end: datetime, count: int = 160, seed: int = 2011
) -> int:
    """Write `count` cases begun over the year before `end`; returns how many."""
    rng = random.Random(seed)
    committees = list(session.scalars(select(Committee).order_by(Committee.id)))
    mediators: dict[int, list[Mediator]] = {}
    for m in session.scalars(select(Mediator).order_by(Mediator.id)):
        mediators.setdefault(m.committee_id, []).append(m)
    regions = {r.path: r for r in session.scalars(select(Region))}
    login = session.scalar(select(User).where(User.username == "mediator"))
    resident = session.scalar(select(User).where(User.username == "resident"))
    mine = next(
        (
            c
            for c in committees
            if login and any(m.user_id == login.id for m in mediators.get(c.id, []))
        ),
        None,
    )
    sea = [c for c in committees if "marine_fishery" in c.specialties]
    land = [c for c in committees if c.kind in ("village", "township")]
    start = end - timedelta(days=365)
    # A fifth begin in the last forty days, so that the workbench has open cases in every
    # stage; the rest through the year.
    moments = sorted(
        end - timedelta(days=rng.uniform(0, 40))
        if rng.random() < 0.2
        else start + timedelta(seconds=rng.uniform(0, 365 * 86400))
        for _ in range(count)
    )
    for n, applied in enumerate(moments):
        path = rng.choices([p for p, _ in PATHS], weights=[w for _, w in PATHS])[0]
        if path == "sea":
            committee = rng.choice(sea)
        elif mine is not None and rng.random() < 0.3:
            committee = mine  # the demo mediator's own committee is a busy one
        else:
            committee = rng.choice(land)
        staff = mediators.get(committee.id) or []
        if not staff:
            continue
        applicant_user = resident if n % 25 == 0 else None
        case = _open(
            session, rng, committee, regions[committee.region_path], path, applied, applicant_user
        )
        head = _acting(staff[0], login)
        walk = Walk(session, cal, end, case, applied, head)
        with clock.frozen(applied):
            first = "consult" if path == "online" else "apply"
            CASE.apply(session, head, cal, case, CASE.transitions[first], NoPayload())
            session.flush()
        _walk(walk, rng, path, staff, login)
    session.commit()
    return count


def _open(
    session: Session,
    rng: random.Random,
    committee: Committee,
    region: Region,
    path: str,
    applied: datetime,
    applicant_user: User | None,
) -> Case:
    at_sea = path == "sea"
    if at_sea:
        dispute, title, summary, _ = rng.choice(SEA_DISPUTES)
        specialty = "marine_fishery"
    else:
        specialty, title, summary, _, _ = rng.choice(DISPUTES)
        dispute = None
    case = Case(
        number=f"tmp-{rng.getrandbits(96):024x}",
        kind="sea" if at_sea else "ordinary",
        source="online" if path == "online" else "application",
        state="applied",
        title=title,
        summary=summary,
        specialty=specialty,
        risk_colour=rng.choices(["green", "yellow", "red"], weights=[80, 17, 3])[0]
        if committee.kind in RED_LEADERS
        else "green",
        people_involved=rng.choice((2, 2, 2, 3, 4, 6)),
        occurred_on=(applied - timedelta(days=rng.randint(0, 20))).date(),
        address=None if at_sea else f"{region.name}{rng.randint(1, 99)}号",
        lon=round(rng.uniform(121.9, 122.4), 5) if at_sea else None,
        lat=round(rng.uniform(29.9, 30.3), 5) if at_sea else None,
        sea_dispute=dispute,
        venue="at_sea" if at_sea else None,
        vessels=[
            {
                "name": f"浙岱渔{rng.randint(1000, 9999):05d}",
                "mmsi": f"41{rng.randint(2, 4)}{rng.randint(0, 999_999):06d}",
            }
            for _ in range(2)
        ]
        if at_sea
        else [],
        region_id=region.id,
        region_path=region.path,
        committee_id=committee.id,
        applicant_user_id=applicant_user.id if applicant_user else None,
        funnel_stage="consultation" if path == "online" else None,
        applied_at=applied,
    )
    session.add(case)
    session.flush()
    case.number = f"TJ{applied.astimezone(clock.zone()).year}{case.id:06d}"
    applicant = applicant_user.display_name if applicant_user else _name(rng)
    session.add_all(
        [
            Party(
                case_id=case.id,
                role="applicant",
                kind="person",
                name=applicant,
                gender=rng.choice(("male", "female")),
                phone=_phone(rng),
                address=case.address,
                user_id=applicant_user.id if applicant_user else None,
            ),
            Party(
                case_id=case.id,
                role="respondent",
                kind="person",
                name=_name(rng),
                gender=rng.choice(("male", "female")),
                phone=_phone(rng),
            ),
        ]
    )
    session.flush()
    return case


def _walk(
    walk: Walk, rng: random.Random, path: str, staff: list[Mediator], login: User | None
) -> None:
    case, session = walk.case, walk.session
    parties = list(
        session.scalars(select(Party).where(Party.case_id == case.id).order_by(Party.id))
    )
    ids = [p.id for p in parties]
    if path == "online":
        if not walk.take("evaluate", pay.Remark(), 0.5, rng=rng):
            return
        if not walk.take("apply_mediation", pay.ApplyIn(), 1, rng=rng):
            return
    if path == "withdrawn":
        walk.take("withdraw", pay.Reasoned(reason="双方已自行和解"), 2, rng=rng)
        return
    if path == "refused":
        ground = rng.choice((RefusalGround.party_refuses, RefusalGround.accepted_elsewhere))
        walk.take("refuse", pay.RefuseIn(ground=ground), 1, rng=rng)
        return
    if not walk.take("accept", pay.AcceptIn(), 1, rng=rng):
        return
    presiding = rng.choice(staff)
    if not walk.take("assign", pay.AssignIn(presiding_id=presiding.id), 0.5, rng=rng):
        return
    walk.presiding = _acting(presiding, login)
    if path == "recusal" and len(staff) > 1:
        if not walk.take(
            "request_recusal",
            pay.RecusalIn(mediator_id=presiding.id, reason="该调解员与对方当事人系亲属"),
            1,
            by=walk.head,
            rng=rng,
        ):
            return
        other = next(m for m in staff if m.id != presiding.id)
        if not walk.take("reassign", pay.AssignIn(presiding_id=other.id), 1, by=walk.head, rng=rng):
            return
        walk.presiding = _acting(other, login)
    if not walk.take("inform", pay.InformIn(method="written"), 1, rng=rng):
        return
    findings = (
        "现场勘查，询问双方当事人及证人"
        if path != "sea"
        else "两船作业区域重叠，经调取 AIS 轨迹核实"
    )
    if not walk.take("investigate", pay.InvestigateIn(findings=findings), 2, rng=rng):
        return
    if path == "sea":
        _, _, _, damage = next(d for d in SEA_DISPUTES if d[0] == case.sea_dispute)
        amount = rng.randrange(2000, 60000, 500)
        steps: list[tuple[str, BaseModel, float]] = [
            ("survey", pay.SurveyIn(damage=damage, assessed_yuan=amount), 1),
            (
                "record_session",
                pay.RecordIn(
                    attendance=ids,
                    statements="双方在船头陈述经过",
                    result="同意按定损赔偿",
                    venue=SeaVenue.at_sea,
                ),
                0.5,
            ),
            (
                "record_session",
                pay.RecordIn(
                    attendance=ids,
                    statements="现场核对损失",
                    result="当场赔付",
                    venue=SeaVenue.bow,
                    on_site=True,
                ),
                0.2,
            ),
            (
                "compensate",
                pay.CompensateIn(amount_yuan=amount, payer_id=ids[1], payee_id=ids[0]),
                0.1,
            ),
        ]
        for action, payload, days in steps:
            if not walk.take(action, payload, days, rng=rng):
                return
        return
    session_record = pay.RecordIn(
        attendance=ids,
        statements="双方陈述事实与诉求，调解员释法说理",
        result="双方初步同意调解方案",
        signed_by=ids,
    )
    if not walk.take("record_session", session_record, 4, rng=rng):
        return
    if path == "extension":
        extend = pay.ExtendIn(days=15, parties_agreed=True, reason="需等待损失鉴定结果")
        if not walk.take("extend", extend, 10, rng=rng):
            return
    if path in ("litigation", "arbitration"):
        terminate = pay.TerminateIn(
            reason="双方对赔偿数额分歧过大，调解不成", referral=Referral(path)
        )
        if not walk.take("terminate", terminate, 5, rng=rng):
            return
        if path == "arbitration" and not walk.take(
            "refer_arbitration", pay.ReferIn(body="劳动人事争议仲裁委员会"), 2, rng=rng
        ):
            return
        walk.take(
            "refer_litigation",
            pay.ReferIn(body="人民法院"),
            20 if path == "arbitration" else 3,
            rng=rng,
        )
        return
    specialty = next((d for d in DISPUTES if d[1] == case.title), DISPUTES[0])
    due = (walk.at + timedelta(days=rng.choice((7, 15, 30)))).astimezone(clock.zone()).date()
    term = pay.TermIn(
        content=specialty[4],
        obligor_id=ids[1],
        manner="当面交付",
        place=case.address or "调解委员会",
        due_on=due,
    )
    if path == "oral":
        oral = pay.OralIn(
            content=f"双方口头达成协议：{specialty[4]}", terms=[term] if rng.random() < 0.5 else []
        )
        if not walk.take("oral_agreement", oral, 3, rng=rng):
            return
    else:
        draft = pay.DraftIn(
            facts=specialty[3],
            disputed="责任划分与赔偿数额",
            responsibilities="被申请人承担主要责任",
            terms=[term],
        )
        if not walk.take("draft_agreement", draft, 3, rng=rng):
            return
        if not _sign(walk, rng, ids, staff):
            return
        if rng.random() < 0.5 and not walk.take(
            "request_confirmation", pay.ConfirmationIn(court="人民法院"), rng.uniform(3, 25)
        ):
            return
        if case.state == "confirming" and not walk.take(
            "court_decision",
            pay.CourtDecisionIn(
                decision=CourtDecision.confirmed, court_case_number=f"(2026)浙0305民特{case.id}号"
            ),
            3,
            rng=rng,
        ):
            return
    _follow_up(walk, rng)


def _sign(walk: Walk, rng: random.Random, ids: list[int], staff: list[Mediator]) -> bool:
    """The parties sign (online, or on paper scanned in) and the mediator signs; then the
    agreement takes effect, sealed."""
    session, case = walk.session, walk.case
    agreement = session.scalar(select(Agreement).where(Agreement.case_id == case.id))
    assert agreement is not None
    at = walk.at + timedelta(days=rng.uniform(0.5, 2))
    if at >= walk.end:
        return False
    for party_id in ids:
        session.add(
            Signature(
                agreement_id=agreement.id,
                party_id=party_id,
                at=at,
                method=rng.choice(("account", "scan")),
            )
        )
    session.add(
        Signature(agreement_id=agreement.id, mediator_id=case.presiding_id, at=at, method="account")
    )
    agreement.mediator_signed_at = at
    walk.at = at - timedelta(days=0.01)
    return walk.take("take_effect", None, 0.01)


def _follow_up(walk: Walk, rng: random.Random) -> None:
    """Follow-up visits until every term is performed (or, now and then, breached)."""
    session, case = walk.session, walk.case
    agreement = session.scalar(select(Agreement).where(Agreement.case_id == case.id))
    if agreement is None or case.state == "closed":
        return
    terms = list(session.scalars(select(Term).where(Term.agreement_id == agreement.id)))
    for term in terms:
        days = max(1.0, (term.due_on - walk.at.astimezone(clock.zone()).date()).days + 2.0)
        state = TermState.breached if rng.random() < 0.08 else TermState.performed
        visit = pay.FollowUpIn(
            note="回访当事人，核实协议履行情况",
            terms=[pay.TermUpdate(term_id=term.id, state=state)],
        )
        if not walk.take("follow_up", visit, days, rng=rng):
            return


def refer_matters(session: Session, cal: WorkCalendar, end: datetime) -> int:
    """The dispute matters still open at the end of the history go to mediation, as their
    dispatcher would send them: each waits on its case, and those settled are closed from
    the case's outcome. Returns how many were referred."""
    from fengqiao.matters.models import Matter, TimelineEntry
    from fengqiao.mediation.cases import create_case
    from fengqiao.mediation.schemas import CaseCreate, PartyIn
    from fengqiao.people.service import principal_of

    dispatcher = session.scalar(select(User).where(User.username == "dispatcher"))
    assert dispatcher is not None
    sender = principal_of(dispatcher)
    rng = random.Random(f"{end.date()}:referrals")
    open_disputes = session.scalars(
        select(Matter)
        .where(Matter.category_code.like("dispute%"))
        .where(Matter.state.in_(("accepted", "dispatched", "in_progress")))
        .order_by(Matter.id)
    ).all()
    referred = 0
    for n, matter in enumerate(open_disputes):
        last = session.scalar(
            select(func.max(TimelineEntry.at)).where(TimelineEntry.matter_id == matter.id)
        )
        at = (last or matter.reported_at) + timedelta(hours=2)
        if at >= end:
            continue
        with clock.frozen(at):
            case = create_case(
                session,
                sender,
                cal,
                CaseCreate(
                    source="matter",
                    matter_id=matter.id,
                    title=matter.title[:100],
                    specialty="labour" if matter.category_code == "dispute_labour" else "neighbour",
                    parties=[
                        PartyIn(role="applicant", name=matter.reporter_name or _name(rng)),
                        PartyIn(role="respondent", name=_name(rng)),
                    ],
                ),
            )
        referred += 1
        committee = session.get(Committee, case.committee_id)
        staff = list(
            session.scalars(select(Mediator).where(Mediator.committee_id == case.committee_id))
        )
        if committee is None or not staff:
            continue
        walk = Walk(session, cal, end, case, at, _acting(staff[0], None))
        if n % 2 == 0:  # half are settled by now; the rest still wait on their case
            _walk(walk, rng, "oral", staff, None)
    session.commit()
    return referred
