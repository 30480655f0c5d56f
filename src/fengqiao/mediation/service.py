"""Committees and mediators: who may see, add and change them, and the public menu.

Committees and mediators serve an area: the caller reads those inside their jurisdiction
and those of the regions above it (`Principal.serving`), as with units; writes need the
jurisdiction to cover the committee's own region."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from fengqiao.core import audit
from fengqiao.core.errors import Conflict, NotFound
from fengqiao.core.permissions import Action, Principal, ancestor_paths, within
from fengqiao.core.security import mask_phone
from fengqiao.geo.models import Region
from fengqiao.mediation.enums import MAX_MEMBERS, MEMBERS, MIN_MEMBERS, Gender
from fengqiao.mediation.models import Committee, Mediator
from fengqiao.people.models import User

COMMITTEE = ("调解组织", "mediation committee")
MEDIATOR = ("调解员", "mediator")


@dataclass(frozen=True)
class Membership:
    """How a committee stands against the statute: its members and the women among them."""

    members: int
    women: int

    def warnings(self) -> list[str]:
        found = []
        if not MIN_MEMBERS <= self.members <= MAX_MEMBERS:
            found.append("members_out_of_range")
        if self.women == 0:
            found.append("no_woman")
        return found


# ---------------------------------------------------------------- committees


def scoped_committees(principal: Principal) -> Select[Committee]:
    return select(Committee).where(principal.serving(Committee.region_path))


def read_committees(
    session: Session,
    principal: Principal,
    *,
    kind: str | None = None,
    specialty: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[Committee]:
    principal.require(Action.mediation_read)
    stmt = scoped_committees(principal)
    if kind:
        stmt = stmt.where(Committee.kind == kind)
    found = list(session.scalars(stmt.order_by(Committee.region_path, Committee.code)))
    if specialty:  # JSON containment differs per engine; a county has few committees
        found = [c for c in found if specialty in c.specialties]
    return found[offset : offset + limit]


def read_committee(session: Session, principal: Principal, code: str) -> Committee:
    principal.require(Action.mediation_read)
    committee = session.scalar(scoped_committees(principal).where(Committee.code == code))
    if committee is None:
        raise NotFound(*COMMITTEE)
    return committee


def memberships(session: Session, committee_ids: Sequence[int]) -> dict[int, Membership]:
    rows = session.execute(
        select(
            Mediator.committee_id,
            func.count(),
            func.count().filter(Mediator.gender == Gender.female.value),
        )
        .where(Mediator.committee_id.in_(committee_ids), Mediator.is_active.is_(True))
        .where(Mediator.position.in_([p.value for p in MEMBERS]))
        .group_by(Mediator.committee_id)
    ).all()
    found = {cid: Membership(members, women) for cid, members, women in rows}
    return {cid: found.get(cid, Membership(0, 0)) for cid in committee_ids}


def region_names(session: Session, region_ids: Sequence[int]) -> dict[int, str]:
    rows = session.execute(select(Region.id, Region.name).where(Region.id.in_(set(region_ids))))
    return {rid: name for rid, name in rows}


def create_committee(
    session: Session,
    principal: Principal,
    *,
    code: str,
    region_code: str,
    **fields: Any,
) -> Committee:
    principal.require(Action.mediation_manage)
    region = session.scalar(select(Region).where(Region.code == region_code))
    if region is None or not principal.may_write(region.path):
        raise NotFound("行政区划", "region")
    if session.scalar(select(Committee.id).where(Committee.code == code)) is not None:
        raise Conflict(
            "调解组织编码 {c} 已存在", "Committee code {c} already exists", field="code", c=code
        )
    committee = Committee(code=code, region_id=region.id, region_path=region.path, **fields)
    session.add(committee)
    session.commit()
    return committee


def update_committee(session: Session, principal: Principal, code: str, **fields: Any) -> Committee:
    principal.require(Action.mediation_manage)
    committee = read_committee(session, principal, code)
    principal.require_write(committee.region_path)  # 403 for one above, which serves it
    for name, value in fields.items():
        setattr(committee, name, value)
    session.commit()
    return committee


# ---------------------------------------------------------------- mediators


def scoped_mediators(principal: Principal) -> Select[Mediator]:
    return select(Mediator).where(principal.serving(Mediator.region_path))


def read_mediators(
    session: Session,
    principal: Principal,
    *,
    committee_code: str | None = None,
    specialty: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[Mediator]:
    principal.require(Action.mediation_read)
    stmt = scoped_mediators(principal)
    if committee_code:
        stmt = stmt.join(Committee, Committee.id == Mediator.committee_id).where(
            Committee.code == committee_code
        )
    found = list(session.scalars(stmt.order_by(Mediator.region_path, Mediator.id)))
    if specialty:
        found = [m for m in found if specialty in m.specialties]
    return found[offset : offset + limit]


def read_mediator(session: Session, principal: Principal, mediator_id: int) -> Mediator:
    principal.require(Action.mediation_read)
    mediator = session.scalar(scoped_mediators(principal).where(Mediator.id == mediator_id))
    if mediator is None:
        raise NotFound(*MEDIATOR)
    return mediator


def mediator_phone(
    session: Session, principal: Principal, mediator: Mediator, unmasked: bool
) -> tuple[str | None, bool]:
    """(phone, masked). Unmasked only for roles that may, and audited."""
    if not unmasked:
        return mask_phone(mediator.phone), True
    principal.require(Action.pii_read)
    if mediator.phone:
        audit.record(
            session,
            "read_personal_data",
            "mediator",
            mediator.id,
            region_path=mediator.region_path,
            detail={"fields": ["phone"]},
        )
        session.commit()
    return mediator.phone, False


def _account(session: Session, username: str | None) -> int | None:
    if username is None:
        return None
    user_id = session.scalar(select(User.id).where(User.username == username))
    if user_id is None:
        raise NotFound("用户", "user")
    if session.scalar(select(Mediator.id).where(Mediator.user_id == user_id)) is not None:
        raise Conflict(
            "用户 {u} 已是调解员", "User {u} is a mediator already", field="username", u=username
        )
    return user_id


def create_mediator(
    session: Session,
    principal: Principal,
    *,
    committee_code: str,
    username: str | None = None,
    **fields: Any,
) -> Mediator:
    principal.require(Action.mediation_manage)
    committee = read_committee(session, principal, committee_code)
    principal.require_write(committee.region_path)
    mediator = Mediator(
        committee_id=committee.id,
        region_path=committee.region_path,
        user_id=_account(session, username),
        **fields,
    )
    session.add(mediator)
    session.commit()
    return mediator


def update_mediator(
    session: Session, principal: Principal, mediator_id: int, **fields: Any
) -> Mediator:
    principal.require(Action.mediation_manage)
    mediator = read_mediator(session, principal, mediator_id)
    principal.require_write(mediator.region_path)
    for name, value in fields.items():
        setattr(mediator, name, value)
    session.commit()
    return mediator


def committees_of(session: Session, mediators: Sequence[Mediator]) -> dict[int, Committee]:
    ids = {m.committee_id for m in mediators}
    return {c.id: c for c in session.scalars(select(Committee).where(Committee.id.in_(ids)))}


def usernames(session: Session, mediators: Sequence[Mediator]) -> dict[int, str]:
    ids = {m.user_id for m in mediators if m.user_id is not None}
    rows = session.execute(select(User.id, User.username).where(User.id.in_(ids)))
    return {uid: name for uid, name in rows}


# ---------------------------------------------------------------- the menu


def menu_unscoped(
    session: Session,
    *,
    specialty: str | None = None,
    region_code: str | None = None,
    q: str = "",
    limit: int = 50,
    offset: int = 0,
) -> list[Mediator]:
    """The mediation menu (点单式调解): every active mediator of an active committee, for
    anyone to choose from, wherever they live; what it shows carries no contacts."""
    stmt = (
        select(Mediator)
        .join(Committee, Committee.id == Mediator.committee_id)
        .where(Mediator.is_active.is_(True), Committee.is_active.is_(True))
    )
    if region_code:
        path = session.scalar(select(Region.path).where(Region.code == region_code))
        if path is None:
            raise NotFound("行政区划", "region")
        # Those who serve the place: inside it, and the committees of the regions above.
        stmt = stmt.where(
            or_(within(Mediator.region_path, path), Mediator.region_path.in_(ancestor_paths(path)))
        )
    if q.strip():
        stmt = stmt.where(Mediator.name.contains(q.strip(), autoescape=True))
    found = list(session.scalars(stmt.order_by(Mediator.region_path, Mediator.id)))
    if specialty:
        found = [m for m in found if specialty in m.specialties]
    return found[offset : offset + limit]
