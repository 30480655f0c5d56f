"""Mediation's HTTP routes: parse, authorise through the service, answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from fengqiao.core.errors import error_responses
from fengqiao.core.fields import Flag, Id, Limit, Offset, RegionCode, Text, UnitCode
from fengqiao.deps import LanguageDep, PrincipalDep, SessionDep
from fengqiao.mediation import indicators, service
from fengqiao.mediation.enums import CommitteeKind, Gender, Position, Specialty
from fengqiao.mediation.models import Committee, Mediator
from fengqiao.mediation.schemas import (
    CommitteeCreate,
    CommitteeOut,
    CommitteeUpdate,
    MediatorCreate,
    MediatorOut,
    MediatorUpdate,
    MenuEntry,
)

router = APIRouter(tags=["mediation 人民调解"], responses=error_responses(401, 422, 503))


def named(specialties: list[str], lang: str) -> list[str]:
    return [Specialty(s).label(lang) for s in specialties]


def committees_out(session: Session, committees: list[Committee], lang: str) -> list[CommitteeOut]:
    names = service.region_names(session, [c.region_id for c in committees])
    standing = service.memberships(session, [c.id for c in committees])
    return [
        CommitteeOut(
            id=c.id,
            code=c.code,
            name=c.name,
            kind=CommitteeKind(c.kind),
            kind_name=CommitteeKind(c.kind).label(lang),
            region_path=c.region_path,
            region_name=names.get(c.region_id, ""),
            specialties=[Specialty(s) for s in c.specialties],
            specialty_names=named(c.specialties, lang),
            venue=c.venue,
            phone=c.phone,
            is_active=c.is_active,
            members=standing[c.id].members,
            women=standing[c.id].women,
            warnings=standing[c.id].warnings(),
        )
        for c in committees
    ]


def mediators_out(
    session: Session, principal: PrincipalDep, mediators: list[Mediator], lang: str, unmasked: bool
) -> list[MediatorOut]:
    committees = service.committees_of(session, mediators)
    names = service.region_names(session, [c.region_id for c in committees.values()])
    accounts = service.usernames(session, mediators)
    answered = []
    for m in mediators:
        committee = committees[m.committee_id]
        phone, masked = service.mediator_phone(session, principal, m, unmasked)
        answered.append(
            MediatorOut(
                id=m.id,
                committee_code=committee.code,
                committee_name=committee.name,
                region_name=names.get(committee.region_id, ""),
                name=m.name,
                gender=Gender(m.gender),
                gender_name=Gender(m.gender).label(lang),
                position=Position(m.position),
                position_name=Position(m.position).label(lang),
                specialties=[Specialty(s) for s in m.specialties],
                specialty_names=named(m.specialties, lang),
                phone=phone,
                masked=masked,
                profile=m.profile,
                username=accounts.get(m.user_id) if m.user_id else None,
                is_active=m.is_active,
            )
        )
    return answered


@router.get(
    "/api/mediation/committees",
    response_model=list[CommitteeOut],
    summary="调解组织列表 mediation committees",
    responses=error_responses(403),
)
def read_committees(
    session: SessionDep,
    principal: PrincipalDep,
    lang: LanguageDep,
    kind: CommitteeKind | None = None,
    specialty: Specialty | None = None,
    limit: Annotated[int, Limit(500)] = 200,
    offset: Offset = 0,
) -> list[CommitteeOut]:
    found = service.read_committees(
        session, principal, kind=kind, specialty=specialty, limit=limit, offset=offset
    )
    return committees_out(session, found, lang)


@router.get(
    "/api/mediation/committees/{code}",
    response_model=CommitteeOut,
    summary="调解组织详情",
    responses=error_responses(403, 404),
)
def read_committee(
    code: UnitCode, session: SessionDep, principal: PrincipalDep, lang: LanguageDep
) -> CommitteeOut:
    return committees_out(session, [service.read_committee(session, principal, code)], lang)[0]


@router.post(
    "/api/mediation/committees",
    response_model=CommitteeOut,
    status_code=201,
    summary="新增调解组织",
    responses=error_responses(403, 404, 409, 413),
)
def create_committee(
    body: CommitteeCreate, session: SessionDep, principal: PrincipalDep, lang: LanguageDep
) -> CommitteeOut:
    committee = service.create_committee(session, principal, **body.model_dump())
    return committees_out(session, [committee], lang)[0]


@router.patch(
    "/api/mediation/committees/{code}",
    response_model=CommitteeOut,
    summary="修改调解组织：名称、专长、场所、电话、停用",
    responses=error_responses(403, 404, 413),
)
def update_committee(
    code: UnitCode,
    body: CommitteeUpdate,
    session: SessionDep,
    principal: PrincipalDep,
    lang: LanguageDep,
) -> CommitteeOut:
    fields = body.model_dump(exclude_unset=True)
    committee = service.update_committee(session, principal, code, **fields)
    return committees_out(session, [committee], lang)[0]


@router.get(
    "/api/mediation/mediators",
    response_model=list[MediatorOut],
    summary="调解员列表（电话脱敏） mediators",
    responses=error_responses(403),
)
def read_mediators(
    session: SessionDep,
    principal: PrincipalDep,
    lang: LanguageDep,
    committee: UnitCode | None = None,
    specialty: Specialty | None = None,
    limit: Annotated[int, Limit(500)] = 200,
    offset: Offset = 0,
) -> list[MediatorOut]:
    found = service.read_mediators(
        session,
        principal,
        committee_code=committee,
        specialty=specialty,
        limit=limit,
        offset=offset,
    )
    return mediators_out(session, principal, found, lang, unmasked=False)


@router.get(
    "/api/mediation/mediators/{mediator_id}",
    response_model=MediatorOut,
    summary="调解员详情；unmasked=true 时显示电话（需权限，留痕）",
    responses=error_responses(403, 404),
)
def read_mediator(
    mediator_id: Id,
    session: SessionDep,
    principal: PrincipalDep,
    lang: LanguageDep,
    unmasked: Flag = False,
) -> MediatorOut:
    mediator = service.read_mediator(session, principal, mediator_id)
    return mediators_out(session, principal, [mediator], lang, unmasked)[0]


@router.post(
    "/api/mediation/mediators",
    response_model=MediatorOut,
    status_code=201,
    summary="新增调解员",
    responses=error_responses(403, 404, 409, 413),
)
def create_mediator(
    body: MediatorCreate, session: SessionDep, principal: PrincipalDep, lang: LanguageDep
) -> MediatorOut:
    mediator = service.create_mediator(session, principal, **body.model_dump())
    return mediators_out(session, principal, [mediator], lang, unmasked=False)[0]


@router.patch(
    "/api/mediation/mediators/{mediator_id}",
    response_model=MediatorOut,
    summary="修改调解员：职务、专长、电话、简介、停用",
    responses=error_responses(403, 404, 413),
)
def update_mediator(
    mediator_id: Id,
    body: MediatorUpdate,
    session: SessionDep,
    principal: PrincipalDep,
    lang: LanguageDep,
) -> MediatorOut:
    fields = body.model_dump(exclude_unset=True)
    mediator = service.update_mediator(session, principal, mediator_id, **fields)
    return mediators_out(session, principal, [mediator], lang, unmasked=False)[0]


@router.get(
    "/api/mediation/menu",
    response_model=list[MenuEntry],
    summary="调解菜单：按专长与地区挑选调解员 the mediation menu",
    responses=error_responses(404),
)
def read_menu(
    session: SessionDep,
    principal: PrincipalDep,
    lang: LanguageDep,
    specialty: Specialty | None = None,
    region: RegionCode | None = None,
    q: Annotated[str, Text(32, min_length=0), Query(description="调解员姓名中的字")] = "",
    limit: Annotated[int, Limit(100)] = 50,
    offset: Offset = 0,
) -> list[MenuEntry]:
    """Open to every signed-in caller (a resident chooses a mediator by name): profiles
    only, no contacts."""
    found = service.menu_unscoped(
        session, specialty=specialty, region_code=region, q=q, limit=limit, offset=offset
    )
    committees = service.committees_of(session, found)
    names = service.region_names(session, [c.region_id for c in committees.values()])
    records = indicators.mediator_records(session, [m.id for m in found])
    return [
        MenuEntry(
            id=m.id,
            name=m.name,
            gender_name=Gender(m.gender).label(lang),
            position_name=Position(m.position).label(lang),
            committee_code=(c := committees[m.committee_id]).code,
            committee_name=c.name,
            committee_kind_name=CommitteeKind(c.kind).label(lang),
            region_name=names.get(c.region_id, ""),
            venue=c.venue,
            specialties=[Specialty(s) for s in m.specialties],
            specialty_names=named(m.specialties, lang),
            profile=m.profile,
            **records[m.id],
        )
        for m in found
    ]
