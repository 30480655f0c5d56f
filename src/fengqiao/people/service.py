"""Users, units and grid teams (logins and sessions: people/sessions.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fengqiao.core import audit, clock
from fengqiao.core.errors import Conflict, Invalid, NotFound
from fengqiao.core.levels import Level
from fengqiao.core.models import Category
from fengqiao.core.permissions import ACTIONS, Action, Principal, Role
from fengqiao.core.security import (
    check_password,
    hash_password,
    mask_id_number,
    mask_phone,
)
from fengqiao.geo.models import Grid, Region
from fengqiao.geo.service import find_place_unscoped
from fengqiao.people.models import AuthSession, GridMember, Unit, User, UserRole

# ---------------------------------------------------------------- users


def principal_of(user: User, session_id: int | None = None) -> Principal:
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        roles=frozenset(Role(r.role) for r in user.roles),
        scope_path=user.region_path,
        unit_id=user.unit_id,
        session_id=session_id,
    )


def jurisdiction_path(session: Session, code: str) -> str:
    """The path of a region code or a grid code."""
    place = find_place_unscoped(session, code=code)
    if place is None:
        raise Invalid(
            "辖区代码 {c} 不存在",
            "Unknown region or grid code {c}",
            field="region_code",
            c=code,
        )
    return place.path


def jurisdiction_name(session: Session, path: str | None, lang: str = "zh") -> str | None:
    if not path:
        return None
    if path == "/":
        return Level.everywhere.label(lang)
    code = path.rstrip("/").rsplit("/", 1)[-1]
    return session.scalar(select(Region.name).where(Region.code == code)) or session.scalar(
        select(Grid.name).where(Grid.code == code)
    )


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    password: str,
    roles: list[Role],
    region_path: str | None = None,
    unit: Unit | None = None,
    phone: str | None = None,
    id_number: str | None = None,
    password_hash: str | None = None,
) -> User:
    """Store a user. A unit user's jurisdiction is the unit's region."""
    username = username.strip().lower()
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict("用户名 {u} 已存在", "User name {u} is taken", field="username", u=username)
    if unit is not None and region_path is None:
        region_path = unit.region_path
    if region_path is None:
        raise Invalid(
            "必须指定辖区或所属单位",
            "A jurisdiction (region, grid or unit) is required",
            field="region_code",
        )
    _check_unit_area(region_path, unit)
    if password_hash is None:
        check_password(password, username, display_name)
    user = User(
        username=username,
        display_name=display_name,
        password_hash=password_hash or hash_password(password),
        region_path=region_path,
        unit=unit,
        phone=phone,
        id_number=id_number.upper() if id_number else None,
        roles=[UserRole(role=r.value) for r in sorted(set(roles))],
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            "用户名 {u} 已存在", "User name {u} is taken", field="username", u=username
        ) from None
    return user


def add_user(session: Session, principal: Principal, **fields: Any) -> User:
    """An administrator adds a user inside their own jurisdiction, of a unit of it."""
    principal.require(Action.people_manage)
    region_code, unit_code = fields.pop("region_code", None), fields.pop("unit_code", None)
    unit = _unit_to_bind(session, principal, unit_code) if unit_code else None
    path = jurisdiction_path(session, region_code) if region_code else None
    _check_jurisdiction(principal, path)
    user = create_user(session, region_path=path, unit=unit, **fields)
    session.commit()
    return user


def _unit_to_bind(session: Session, principal: Principal, code: str) -> Unit:
    """A unit the caller may bind users to: one of their jurisdiction. A unit above it
    serves it, but its users' jurisdiction would be wider than the caller's (404)."""
    unit = read_unit(session, principal, code)
    _check_jurisdiction(principal, unit.region_path)
    return unit


def _check_jurisdiction(principal: Principal, path: str | None) -> None:
    """A user's jurisdiction lies within their administrator's (a place outside it is
    not even visible to them: 404)."""
    if path is not None and not principal.may_write(path):
        raise NotFound("辖区", "jurisdiction")


def _check_unit_area(path: str, unit: Unit | None) -> None:
    """A unit's user works inside the area the unit serves."""
    if unit is not None and not path.startswith(unit.region_path):
        raise Invalid(
            "辖区须在所属单位 {u} 的服务范围内",
            "The jurisdiction must lie within the area of the unit {u}",
            field="region_code",
            u=unit.name,
        )


def set_password(session: Session, user: User, password: str) -> None:
    """A new password, held to the strength rule; every session of the user ends."""
    check_password(password, user.username, user.display_name)
    user.password_hash = hash_password(password)
    _end_sessions(session, user)


def _end_sessions(session: Session, user: User) -> None:
    now = clock.now()
    for row in session.scalars(
        select(AuthSession).where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
    ):
        row.revoked_at = now


def update_user(session: Session, principal: Principal, user_id: int, **fields: Any) -> User:
    """An administrator changes a user of their jurisdiction: name, contact, roles, where
    they work, password or whether the account is active. A new password or a stopped
    account ends the user's sessions at once. Nobody stops their own account or takes
    their own right to manage users."""
    principal.require(Action.people_manage)
    user = session.scalar(scoped_users(principal).where(User.id == user_id))
    if user is None:
        raise NotFound("用户", "user")
    principal.require_write(user.region_path)
    mine = user.id == principal.user_id
    if mine and fields.get("is_active") is False:
        raise Invalid("不能停用自己的账号", "You cannot stop your own account")
    roles: list[Role] | None = fields.pop("roles", None)
    if roles is not None:
        if mine and not any(Action.people_manage in ACTIONS.get(r, ()) for r in roles):
            raise Invalid(
                "不能取消自己管理用户的权限", "You cannot take away your own right to manage users"
            )
        user.roles = [UserRole(role=r.value) for r in sorted(set(roles))]
    region_code, unit_code = fields.pop("region_code", None), fields.pop("unit_code", None)
    if unit_code is not None:
        unit = _unit_to_bind(session, principal, unit_code) if unit_code else None
        user.unit = unit
        if unit is not None and region_code is None:
            user.region_path = unit.region_path
    if region_code:
        user.region_path = jurisdiction_path(session, region_code)
    _check_jurisdiction(principal, user.region_path)
    if user.region_path is not None:
        _check_unit_area(user.region_path, user.unit)
    password = fields.pop("password", None)
    if password is not None:
        set_password(session, user, password)
    for name in ("display_name", "phone", "id_number", "is_active"):
        if name in fields:
            value = fields[name]
            setattr(user, name, value.upper() if name == "id_number" and value else value)
    if fields.get("is_active") is False:
        _end_sessions(session, user)
    session.commit()
    return user


def scoped_users(principal: Principal) -> Select[User]:
    return select(User).where(principal.scope(User.region_path))


def read_users(
    session: Session,
    principal: Principal,
    *,
    role: Role | None = None,
    q: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[User]:
    principal.require(Action.people_read)
    stmt = scoped_users(principal)
    if role is not None:
        stmt = stmt.where(User.roles.any(UserRole.role == role.value))
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(User.username.like(like), User.display_name.like(like)))
    return list(session.scalars(stmt.order_by(User.id).limit(limit).offset(offset)))


def read_user(session: Session, principal: Principal, user_id: int) -> User:
    if user_id != principal.user_id and not principal.can(Action.people_read):
        raise NotFound("用户", "user")
    user = session.scalar(
        select(User)
        .where(User.id == user_id)
        .where(or_(principal.scope(User.region_path), User.id == principal.user_id))
    )
    if user is None:
        raise NotFound("用户", "user")
    return user


def personal_fields(
    session: Session, principal: Principal, user: User, unmasked: bool
) -> tuple[str | None, str | None, bool]:
    """(phone, id number, masked). Unmasked only for roles that may, and audited."""
    if unmasked:
        principal.require(Action.pii_read)
        if user.phone or user.id_number:
            audit.record(
                session,
                "read_personal_data",
                "user_account",
                user.id,
                region_path=user.region_path,
                detail={"fields": ["phone", "id_number"]},
            )
            session.commit()
        return user.phone, user.id_number, False
    return mask_phone(user.phone), mask_id_number(user.id_number), True


# ---------------------------------------------------------------- units


def scoped_units(principal: Principal) -> Select[Unit]:
    """Units serving the caller's area: those inside it and those above it."""
    return select(Unit).where(principal.serving(Unit.region_path))


def read_units(
    session: Session,
    principal: Principal,
    *,
    kind: str | None = None,
    category: str | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[Unit]:
    principal.require(Action.units_read)
    stmt = scoped_units(principal)
    if kind:
        stmt = stmt.where(Unit.kind == kind)
    units = list(session.scalars(stmt.order_by(Unit.region_path, Unit.code)))
    if category:  # JSON containment differs per engine; the list is short
        units = [u for u in units if category in u.categories]
    return units[offset : offset + limit]


def read_unit(session: Session, principal: Principal, code: str) -> Unit:
    principal.require(Action.units_read)
    unit = session.scalar(scoped_units(principal).where(Unit.code == code))
    if unit is None:
        raise NotFound("单位", "unit")
    return unit


def add_unit(
    session: Session,
    principal: Principal,
    *,
    code: str,
    name: str,
    kind: str,
    region_code: str,
    categories: list[str],
    phone: str | None,
) -> Unit:
    principal.require(Action.units_manage)
    region = session.scalar(select(Region).where(Region.code == region_code))
    if region is None or not principal.may_write(region.path):
        raise NotFound("行政区划", "region")
    if session.scalar(select(Unit.id).where(Unit.code == code)) is not None:
        raise Conflict("单位编码 {c} 已存在", "Unit code {c} already exists", field="code", c=code)
    unit = Unit(
        code=code,
        name=name,
        kind=kind,
        region_id=region.id,
        region_path=region.path,
        categories=known_categories(session, categories),
        phone=phone,
    )
    session.add(unit)
    session.commit()
    return unit


def known_categories(session: Session, codes: list[str]) -> list[str]:
    """The codes, once each, sorted; 422 naming those the categories table does not have."""
    known = set(session.scalars(select(Category.code).where(Category.code.in_(set(codes)))))
    if unknown := sorted(set(codes) - known):
        raise Invalid(
            "未知的事件类别：{c}",
            "Unknown categories: {c}",
            field="categories",
            c=", ".join(unknown),
        )
    return sorted(known)


def update_unit(session: Session, principal: Principal, code: str, **fields: Any) -> Unit:
    """An administrator renames a unit of their jurisdiction, changes what it handles or
    its phone, or stops it (routing then passes it by; its open tasks stay with it until
    a dispatcher moves them)."""
    principal.require(Action.units_manage)
    unit = read_unit(session, principal, code)
    principal.require_write(unit.region_path)  # 403 for a unit above, which serves it
    if "categories" in fields:
        fields["categories"] = known_categories(session, fields["categories"])
    for name, value in fields.items():
        setattr(unit, name, value)
    session.commit()
    return unit


# ---------------------------------------------------------------- grid teams


def grid_team(session: Session, grid: Grid) -> list[tuple[GridMember, User]]:
    rows = session.execute(
        select(GridMember, User)
        .join(User, User.id == GridMember.user_id)
        .where(GridMember.grid_id == grid.id)
        .order_by(GridMember.team_role, User.id)
    ).all()
    return [(m, u) for m, u in rows]


def add_grid_member(session: Session, grid: Grid, user: User, team_role: str) -> GridMember:
    member = GridMember(
        grid_id=grid.id, user_id=user.id, team_role=team_role, region_path=grid.path
    )
    session.add(member)
    session.flush()
    return member
