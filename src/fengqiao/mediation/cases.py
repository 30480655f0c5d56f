"""Mediation cases: how one begins, who may read it (`case_scope`, the one rule), and the
actions of its table taken for a caller."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from fengqiao.core import audit, clock, images
from fengqiao.core.errors import Conflict, Forbidden, Invalid, NotFound
from fengqiao.core.permissions import Action, Principal, Role
from fengqiao.core.workcalendar import WorkCalendar
from fengqiao.core.workflow import NoPayload
from fengqiao.geo.models import Region
from fengqiao.geo.service import root_paths
from fengqiao.matters.actors import D
from fengqiao.matters.actors import actors_of as matter_actors
from fengqiao.matters.lifecycle import MATTER, MEDIATION_CASE
from fengqiao.matters.queries import read_matter
from fengqiao.mediation import actions as do
from fengqiao.mediation import conflicts, documents
from fengqiao.mediation.actors import (
    HEADS,
    OV,
    OVERSEEING,
    H,
    M,
    P,
    actors_of,
    case_scope,
    mediator_of,
)
from fengqiao.mediation.conflicts import ExcludedMediator
from fengqiao.mediation.enums import (
    CaseKind,
    CaseSource,
    CaseState,
    CommitteeKind,
    FunnelStage,
    PartyRole,
    Position,
    Specialty,
)
from fengqiao.mediation.flows import CASE
from fengqiao.mediation.models import Case, Committee, KnowledgeEntry, Mediator, Party, Scan
from fengqiao.mediation.schemas import (
    CandidateOut,
    CaseCreate,
    ConflictOut,
    KnowledgeIn,
    PartyIn,
    VerifyOut,
)
from fengqiao.people.models import User

CASE_NOUN = ("调解案件", "mediation case")
# The matter categories whose matters may become cases (矛盾纠纷).
DISPUTE_PREFIX = "dispute"


def scoped_cases(principal: Principal) -> Select[Case]:
    return select(Case).where(case_scope(principal))


def read_case(session: Session, principal: Principal, number: str) -> Case:
    case = session.scalar(scoped_cases(principal).where(Case.number == number))
    if case is None:
        raise NotFound(*CASE_NOUN)
    return case


def read_cases(
    session: Session,
    principal: Principal,
    *,
    state: str | None = None,
    committee_code: str | None = None,
    mine: bool = False,
    q: str = "",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Case], int]:
    stmt = scoped_cases(principal)
    if state:
        stmt = stmt.where(Case.state == state)
    if committee_code:
        stmt = stmt.join(Committee, Committee.id == Case.committee_id).where(
            Committee.code == committee_code
        )
    if mine:
        me = mediator_of(session, principal)
        mediator_id = me.id if me else 0
        stmt = stmt.where(
            or_(Case.presiding_id == mediator_id, Case.applicant_user_id == principal.user_id)
        )
    if q.strip():
        stmt = stmt.where(
            or_(
                Case.title.contains(q.strip(), autoescape=True),
                Case.number.contains(q.strip(), autoescape=True),
            )
        )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(Case.applied_at.desc(), Case.id.desc()).limit(limit).offset(offset)
    )
    return list(rows), total


# ---------------------------------------------------------------- how a case begins


def _region(session: Session, code: str | None, path: str | None) -> Region:
    if code is not None:
        region = session.scalar(select(Region).where(Region.code == code))
        if region is None:
            raise Invalid("行政区划 {c} 不存在", "No region {c}", field="region_code", c=code)
        return region
    if path:  # the deepest region whose path the given one starts with
        candidates = [p for p in _prefixes(path)]
        region = session.scalar(
            select(Region)
            .where(Region.path.in_(candidates))
            .order_by(func.length(Region.path).desc())
            .limit(1)
        )
        if region is not None:
            return region
    raise Invalid("请选择纠纷发生地", "Say where the dispute is", field="region_code")


def _prefixes(path: str) -> list[str]:
    parts = path.strip("/").split("/")
    return ["/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]


def serving_committee(session: Session, region: Region, kind: CaseKind) -> Committee:
    """Who mediates where no one was chosen: at sea a marine-fishery committee serving the
    place; else the committee of the village, or of the nearest region above it."""
    paths = _prefixes(region.path)
    committees = list(
        session.scalars(
            select(Committee).where(Committee.region_path.in_(paths), Committee.is_active.is_(True))
        )
    )
    if kind == CaseKind.sea:
        sea = [c for c in committees if Specialty.marine_fishery in c.specialties]
        if sea:
            return max(sea, key=lambda c: len(c.region_path))
    statutory = [c for c in committees if c.kind in (CommitteeKind.village, CommitteeKind.township)]
    if not statutory:
        raise Invalid(
            "该地没有人民调解委员会",
            "No mediation committee serves that place",
            field="region_code",
        )
    return max(statutory, key=lambda c: len(c.region_path))


def _committee(session: Session, code: str) -> Committee:
    committee = session.scalar(
        select(Committee).where(Committee.code == code, Committee.is_active.is_(True))
    )
    if committee is None:
        raise Invalid("调解组织 {c} 不存在", "No committee {c}", field="committee_code", c=code)
    return committee


def _party(case: Case, data: PartyIn, user_id: int | None = None) -> Party:
    return Party(case_id=case.id, user_id=user_id, **data.model_dump(mode="json"))


def create_case(
    session: Session, principal: Principal, cal: WorkCalendar, data: CaseCreate
) -> Case:
    """A new case, with its first timeline entry. Who may begin which kind:
    an application or consultation, anyone signed in (the caller is the applicant); a
    matter's case, a dispatcher of the matter; an initiative, a head of the committee; a
    court's delegation, a head of the committee or an overseer of the place."""
    matter = None
    if data.source == CaseSource.matter:
        if data.matter_id is None:
            raise Invalid("请指明事件", "Name the matter", field="matter_id")
        matter = read_matter(session, principal, data.matter_id)
        if D not in matter_actors(principal, matter):
            raise Forbidden()
        if not (matter.category_code or "").startswith(DISPUTE_PREFIX):
            raise Invalid(
                "只有矛盾纠纷类事件可以转人民调解",
                "Only a dispute matter can go to mediation",
                field="matter_id",
            )
        if matter.state not in MATTER.transitions["mediate"].sources:
            raise Conflict("事件当前状态不能转人民调解", "The matter cannot go to mediation now")
        region = session.scalar(select(Region).where(Region.path == matter.region_path))
        if region is None:
            region = _region(session, None, matter.region_path)
    else:
        region = _region(session, data.region_code, principal.scope_path)

    committee = (
        _committee(session, data.committee_code)
        if data.committee_code
        else serving_committee(session, region, data.kind)
    )
    me = mediator_of(session, principal)
    if data.source == CaseSource.initiative and not (
        me and me.committee_id == committee.id and me.position in HEADS
    ):
        raise Forbidden()
    if data.source == CaseSource.court:
        heads = me is not None and me.committee_id == committee.id and me.position in HEADS
        if not (heads or (principal.roles & OVERSEEING and principal.covers(region.path))):
            raise Forbidden()
        if data.court is None:
            raise Invalid("请填写委派法院", "Name the delegating court", field="court")
    if data.kind == CaseKind.sea and (data.lon is None or data.lat is None):
        raise Invalid(
            "海上纠纷须有发生位置（经纬度）", "A dispute at sea needs its position", field="lon"
        )

    # A resident applies for themselves; staff take an application down for someone else
    # (who applies, in `applicant`), and their own account is not the applicant's.
    applies = data.source in (CaseSource.application, CaseSource.online)
    if applies and Role.resident not in principal.roles and data.applicant is None:
        raise Invalid("请填写申请人信息", "Say who applies", field="applicant")
    applies_for_self = applies and Role.resident in principal.roles
    case = Case(
        number=f"tmp-{uuid.uuid4().hex[:28]}",  # until the id is known
        kind=data.kind.value,
        source=data.source.value,
        state=CaseState.applied.value,
        title=data.title,
        summary=data.summary or (matter.description if matter else ""),
        specialty=data.specialty.value,
        risk_colour=data.risk_colour.value,
        people_involved=data.people_involved,
        occurred_on=data.occurred_on,
        address=data.address or (matter.address if matter else None),
        lon=data.lon if data.lon is not None else (matter.lon if matter else None),
        lat=data.lat if data.lat is not None else (matter.lat if matter else None),
        sea_dispute=data.sea_dispute.value if data.sea_dispute else None,
        venue=data.venue.value if data.venue else None,
        vessels=[v.model_dump(exclude_none=True) for v in data.vessels],
        involves_privacy=data.involves_privacy,
        region_id=region.id,
        region_path=region.path,
        committee_id=committee.id,
        applicant_user_id=principal.user_id if applies_for_self else None,
        matter_id=matter.id if matter else None,
        court=data.court,
        funnel_stage=FunnelStage.consultation.value if data.source == CaseSource.online else None,
        applied_at=clock.now(),
    )
    session.add(case)
    session.flush()
    case.number = f"TJ{clock.now().astimezone(clock.zone()).year}{case.id:06d}"
    if applies_for_self:
        account = session.get(User, principal.user_id)
        me_as_party = data.applicant or PartyIn(
            role=PartyRole.applicant, name=principal.display_name
        )
        if me_as_party.phone is None and account is not None and account.phone:
            me_as_party = me_as_party.model_copy(update={"phone": account.phone})
        session.add(
            _party(
                case,
                me_as_party.model_copy(update={"role": PartyRole.applicant}),
                principal.user_id,
            )
        )
    elif data.applicant is not None:
        session.add(_party(case, data.applicant.model_copy(update={"role": PartyRole.applicant})))
    for party in data.parties:
        session.add(_party(case, party))
    session.flush()
    if matter is not None and matter.reporter_id is not None and not data.parties:
        reporter = session.get(User, matter.reporter_id)
        session.add(
            Party(
                case_id=case.id,
                role=PartyRole.applicant.value,
                kind="person",
                name=matter.reporter_name or (reporter.display_name if reporter else "上报人"),
                phone=matter.reporter_phone,
                user_id=matter.reporter_id,
            )
        )
        session.flush()
    if not session.scalar(select(func.count()).where(Party.case_id == case.id)):
        raise Invalid("案件须有当事人", "A case needs its parties", field="parties")

    action, detail = _first_step(data, matter)
    if action == "initiate":  # taken up at once: its clock starts
        detail |= do.start_clock(cal, case)
    t = CASE.transitions[action]
    try:
        if data.chosen_mediator_id is not None:
            detail |= _choose(session, case, data.chosen_mediator_id)
        CASE.apply(session, principal, cal, case, t, NoPayload(), None, detail)
        if matter is not None:
            MATTER.apply(
                session,
                principal,
                cal,
                matter,
                MATTER.transitions["mediate"],
                NoPayload(),
                MEDIATION_CASE.zh.format(number=case.number),
                {"case": case.number, "case_id": case.id, "committee": committee.name},
            )
        session.commit()
    except ExcludedMediator as exc:
        _log_exclusion(session, principal, exc)
        raise
    return case


def _first_step(data: CaseCreate, matter: Any) -> tuple[str, dict[str, Any]]:
    if data.source == CaseSource.online:
        return "consult", {}
    if data.source == CaseSource.matter:
        return "refer_matter", {"matter": matter.number, "matter_id": matter.id}
    if data.source == CaseSource.initiative:
        return "initiate", {}
    if data.source == CaseSource.court:
        return "delegate", {"court": data.court}
    return "apply", {}


def _choose(session: Session, case: Case, mediator_id: int) -> dict[str, Any]:
    if session.get(Mediator, mediator_id) is None:
        raise Invalid(
            "调解员 {m} 不存在", "No mediator {m}", field="chosen_mediator_id", m=mediator_id
        )
    return do.choose(session, case, mediator_id)


def _log_exclusion(session: Session, principal: Principal, exc: ExcludedMediator) -> None:
    """The refused choice changes nothing, but why it was refused is kept."""
    session.rollback()
    audit.record(
        session,
        "conflict_excluded",
        "mediator",
        exc.mediator_id,
        detail={"reasons": exc.reasons, "by": principal.username},
    )
    session.commit()


# ---------------------------------------------------------------- actions


def take(
    session: Session,
    principal: Principal,
    cal: WorkCalendar,
    number: str,
    action: str,
    data: Mapping[str, Any],
) -> Case:
    try:
        return CASE.take(
            session, principal, cal, lambda: read_case(session, principal, number), action, data
        )
    except ExcludedMediator as exc:
        _log_exclusion(session, principal, exc)
        raise


def candidates(session: Session, principal: Principal, case: Case, lang: str) -> list[CandidateOut]:
    """The committee's mediators for the head's assignment view: each one's load and what
    the conflict check finds."""
    if not actors_of(principal, case) & {H, P, OV}:
        raise Forbidden()
    mediators = list(
        session.scalars(
            select(Mediator)
            .where(Mediator.committee_id == case.committee_id, Mediator.is_active.is_(True))
            .order_by(Mediator.id)
        )
    )
    loads = do.load(session, [m.id for m in mediators])
    parties = do.parties_of(session, case)
    out = []
    for m in mediators:
        found = conflicts.check(session, m, parties, exclude_case=case.id)
        out.append(
            CandidateOut(
                id=m.id,
                name=m.name,
                position_name=Position(m.position).label(lang),
                specialty_names=[Specialty(s).label(lang) for s in m.specialties],
                load=loads[m.id],
                conflicts=[
                    ConflictOut(
                        kind=f.kind,
                        kind_name=conflicts.KIND_NAMES[f.kind](lang),
                        party=f.party,
                        excludes=f.excludes,
                    )
                    for f in found
                ],
                excluded=conflicts.excluded(found),
            )
        )
    return out


def add_scan(
    session: Session, principal: Principal, number: str, content: bytes, max_bytes: int
) -> Scan:
    """A scan of the paper a party signed, uploaded by a mediator of the case."""
    case = read_case(session, principal, number)
    if M not in actors_of(principal, case):
        raise Forbidden()
    if len(content) > max_bytes:
        raise Invalid(
            "文件过大（上限 {m} MB）", "File too large (limit {m} MB)", m=max_bytes // (1024 * 1024)
        )
    content, kind = images.reencode(content)
    scan = Scan(
        case_id=case.id,
        sha256=hashlib.sha256(content).hexdigest(),
        content_type=kind,
        content=content,
        created_at=clock.now(),
    )
    session.add(scan)
    session.commit()
    return scan


def create_knowledge(session: Session, principal: Principal, data: KnowledgeIn) -> KnowledgeEntry:
    principal.require(Action.mediation_manage)
    principal.require_write(None, root_paths(session))  # the installation's, not a place's
    entry = KnowledgeEntry(**data.model_dump(mode="json"))
    session.add(entry)
    session.commit()
    return entry


def verify_copy(session: Session, content: bytes, max_bytes: int) -> VerifyOut:
    """Whether a copy is the sealed agreement, byte for byte (its SHA-256 digest)."""
    if len(content) > max_bytes:
        raise Invalid(
            "文件过大（上限 {m} MB）", "File too large (limit {m} MB)", m=max_bytes // (1024 * 1024)
        )
    if not content.startswith(b"%PDF-"):
        raise Invalid("请上传 PDF 文件", "Upload a PDF file", field="file")
    found, sha = documents.verify_unscoped(session, content)
    if found is None:
        return VerifyOut(
            genuine=False,
            sha256=sha,
            case_number=None,
            committee_name=None,
            sealed_at=None,
            message="不是本系统签署加封的调解协议书原件：内容可能已被改动",
        )
    case = session.get(Case, found.case_id)
    committee = session.get(Committee, case.committee_id) if case else None
    return VerifyOut(
        genuine=True,
        sha256=sha,
        case_number=case.number if case else None,
        committee_name=committee.name if committee else None,
        sealed_at=found.created_at,
        message="是本系统签署加封的调解协议书原件",
    )
