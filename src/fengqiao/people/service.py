"""Users, logins, units and grid teams."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, event, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, UOWTransaction, joinedload

from fengqiao.core import audit, clock
from fengqiao.core.config import Settings
from fengqiao.core.errors import Conflict, Invalid, NotFound, TooMany, Unauthorized
from fengqiao.core.permissions import ACTIONS, Action, Principal, Role
from fengqiao.core.security import (
    DUMMY_HASH,
    hash_password,
    mask_id_number,
    mask_phone,
    needs_rehash,
    new_token,
    token_digest,
    verify_password,
)
from fengqiao.geo.models import Grid, Region
from fengqiao.geo.service import find_place
from fengqiao.people.models import AuthSession, GridMember, LoginThrottle, Unit, User, UserRole

# ---------------------------------------------------------------- login


def _throttle(session: Session, username: str) -> LoginThrottle:
    row = session.get(LoginThrottle, username, with_for_update=True)
    if row is None:
        row = LoginThrottle(username=username, failures=0)
        session.add(row)
    return row


def _retry_after(row: LoginThrottle, settings: Settings, now: datetime) -> int:
    """Seconds the caller must still wait, or 0."""
    if row.locked_until and row.locked_until > now:
        return int((row.locked_until - now).total_seconds()) + 1
    over = row.failures - settings.login_slow_after
    if over >= 0 and row.last_failure_at is not None:
        wait_until = row.last_failure_at + timedelta(seconds=min(2**over, 300))
        if wait_until > now:
            return int((wait_until - now).total_seconds()) + 1
    return 0


def login(
    session: Session, settings: Settings, username: str, password: str, ip: str | None = None
) -> tuple[str, str, int]:
    """Check the password and open a session: (access token, refresh token, expires in s)."""
    username = username.strip().lower()
    now = clock.now()
    throttle = _throttle(session, username)
    wait = _retry_after(throttle, settings, now)
    if wait:
        session.commit()
        raise TooMany(
            "登录失败次数过多，请 {s} 秒后再试",
            "Too many failed logins; try again in {s} seconds",
            retry_after=wait,
            s=wait,
        )
    user = session.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user else DUMMY_HASH, password)
    if not ok or user is None or not user.is_active:
        throttle.failures += 1
        throttle.last_failure_at = now
        if throttle.failures >= settings.login_lock_after:
            throttle.locked_until = now + timedelta(minutes=settings.login_lock_minutes)
        audit.record(
            session,
            "login_failed",
            "user_account",
            user.id if user else None,
            actor_name=username,
            detail={"failures": throttle.failures},
        )
        session.commit()
        raise Unauthorized("用户名或密码错误", "Wrong user name or password")
    throttle.failures, throttle.locked_until, throttle.last_failure_at = 0, None, None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    access, refresh = new_token(), new_token()
    expires = timedelta(minutes=settings.access_token_minutes)
    session.add(
        AuthSession(
            user_id=user.id,
            access_hash=token_digest(access),
            access_expires_at=now + expires,
            refresh_hash=token_digest(refresh),
            refresh_expires_at=now + timedelta(days=settings.refresh_token_days),
            created_at=now,
            ip=ip,
        )
    )
    audit.record(
        session,
        "login",
        "user_account",
        user.id,
        actor_name=user.username,
        region_path=user.region_path,
    )
    session.commit()
    return access, refresh, int(expires.total_seconds())


def refresh(session: Session, settings: Settings, refresh_token: str) -> tuple[str, str, int]:
    """Rotate both tokens of a live session."""
    now = clock.now()
    row = session.scalar(
        select(AuthSession)
        .where(AuthSession.refresh_hash == token_digest(refresh_token))
        .with_for_update()
    )
    if row is None or row.revoked_at is not None or row.refresh_expires_at <= now:
        raise Unauthorized("登录已失效，请重新登录", "Session expired; please log in again")
    access, new_refresh = new_token(), new_token()
    expires = timedelta(minutes=settings.access_token_minutes)
    row.access_hash, row.access_expires_at = token_digest(access), now + expires
    row.refresh_hash = token_digest(new_refresh)
    row.refresh_expires_at = now + timedelta(days=settings.refresh_token_days)
    session.commit()
    return access, new_refresh, int(expires.total_seconds())


def logout(session: Session, principal: Principal) -> None:
    row = session.get(AuthSession, principal.session_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = clock.now()
        audit.record(session, "logout", "user_account", principal.user_id)
    session.commit()


class PrincipalCache:
    """Callers by token, so that a request does not read its caller from the database each
    time: an entry is read again after `ttl` seconds, and every entry is dropped when this
    process commits a change to sessions, users or roles. A logout or a deactivation
    therefore holds at once here and within `ttl` seconds in the other server processes."""

    def __init__(self, ttl: float = 1.0, size: int = 10_000) -> None:
        self.ttl, self.size = ttl, size
        self._entries: dict[str, tuple[Principal, datetime, float]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> Principal | None:
        found = self._entries.get(digest)
        if found is None:
            return None
        principal, expires_at, read_at = found
        if time.monotonic() - read_at >= self.ttl or expires_at <= clock.now():
            return None
        return principal

    def put(self, digest: str, principal: Principal, expires_at: datetime) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._entries) >= self.size:
                self._entries = {k: v for k, v in self._entries.items() if now - v[2] < self.ttl}
            self._entries[digest] = (principal, expires_at, now)

    def clear(self) -> None:
        with self._lock:
            self._entries = {}


PRINCIPALS = PrincipalCache()


@event.listens_for(Session, "after_flush")
def _note_account_changes(session: Session, _ctx: UOWTransaction) -> None:
    changed = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(o, AuthSession | User | UserRole) for o in changed):
        session.info["accounts_changed"] = True


@event.listens_for(Session, "after_commit")
def _forget_callers(session: Session) -> None:
    if session.info.pop("accounts_changed", False):
        PRINCIPALS.clear()


def principal_for_token(session: Session, token: str) -> Principal:
    digest = token_digest(token)
    now = clock.now()
    row = (
        session.execute(
            select(AuthSession, User)
            .join(User, User.id == AuthSession.user_id)
            .where(AuthSession.access_hash == digest)
            .options(joinedload(User.roles))  # one query for the caller and their roles
        )
        .unique()
        .first()
    )
    if row is None:
        raise Unauthorized("请先登录", "Please log in")
    auth, user = row
    if auth.revoked_at is not None or auth.access_expires_at <= now or not user.is_active:
        raise Unauthorized("登录已失效，请重新登录", "Session expired; please log in again")
    principal = principal_of(user, session_id=auth.id)
    PRINCIPALS.put(digest, principal, auth.access_expires_at)
    return principal


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


# ---------------------------------------------------------------- users


def jurisdiction_path(session: Session, code: str) -> str:
    """The path of a region code or a grid code."""
    place = find_place(session, code=code)
    if place is None:
        raise Invalid("辖区代码 {c} 不存在", "Unknown region or grid code {c}", c=code)
    return place.path


def jurisdiction_name(session: Session, path: str | None) -> str | None:
    if not path:
        return None
    if path == "/":
        return "全部"
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
        raise Conflict("用户名 {u} 已存在", "User name {u} is taken", u=username)
    if unit is not None and region_path is None:
        region_path = unit.region_path
    if region_path is None:
        raise Invalid("必须指定辖区或所属单位", "A jurisdiction (region, grid or unit) is required")
    user = User(
        username=username,
        display_name=display_name,
        password_hash=password_hash or hash_password(password),
        region_path=region_path,
        unit_id=unit.id if unit else None,
        phone=phone,
        id_number=id_number.upper() if id_number else None,
        roles=[UserRole(role=r.value) for r in sorted(set(roles))],
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict("用户名 {u} 已存在", "User name {u} is taken", u=username) from None
    return user


def add_user(session: Session, principal: Principal, **fields: Any) -> User:
    """An administrator adds a user inside their own jurisdiction."""
    principal.require(Action.people_manage)
    region_code, unit_code = fields.pop("region_code", None), fields.pop("unit_code", None)
    unit = get_unit(session, principal, unit_code) if unit_code else None
    path = jurisdiction_path(session, region_code) if region_code else None
    _check_jurisdiction(principal, path or (unit.region_path if unit else None))
    user = create_user(session, region_path=path, unit=unit, **fields)
    session.commit()
    return user


def _check_jurisdiction(principal: Principal, path: str | None) -> None:
    """A user's jurisdiction lies within their administrator's: a unit above the
    administrator's area (which serves it) gives no wider one."""
    if path is not None and not principal.covers(path):
        raise NotFound("辖区", "jurisdiction")


def update_user(session: Session, principal: Principal, user_id: int, **fields: Any) -> User:
    """An administrator changes a user of their jurisdiction: name, contact, roles, where
    they work, password or whether the account is active. A new password or a stopped
    account ends the user's sessions at once. Nobody stops their own account or takes
    their own right to manage users."""
    principal.require(Action.people_manage)
    user = session.scalar(scoped_users(principal).where(User.id == user_id))
    if user is None:
        raise NotFound("用户", "user")
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
        unit = get_unit(session, principal, unit_code) if unit_code else None
        user.unit_id = unit.id if unit else None
        if unit is not None and region_code is None:
            user.region_path = unit.region_path
    if region_code:
        user.region_path = jurisdiction_path(session, region_code)
    _check_jurisdiction(principal, user.region_path)
    password = fields.pop("password", None)
    if password is not None:
        user.password_hash = hash_password(password)
    for name in ("display_name", "phone", "id_number", "is_active"):
        if name in fields:
            value = fields[name]
            setattr(user, name, value.upper() if name == "id_number" and value else value)
    if password is not None or fields.get("is_active") is False:
        now = clock.now()
        for row in session.scalars(
            select(AuthSession).where(
                AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None)
            )
        ):
            row.revoked_at = now
    session.commit()
    return user


def scoped_users(principal: Principal) -> Select[User]:
    return select(User).where(principal.scope(User.region_path))


def list_users(
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


def ancestor_paths(path: str) -> list[str]:
    """'a/b/c/' → ['a/', 'a/b/'] (not itself)."""
    parts = path.strip("/").split("/")
    return ["/".join(parts[:i]) + "/" for i in range(1, len(parts))]


def scoped_units(principal: Principal) -> Select[Unit]:
    """Units serving the caller's area: those inside it and those above it."""
    if principal.scope_path is None:
        return select(Unit).where(Unit.id.is_(None))
    above = ancestor_paths(principal.scope_path) if principal.scope_path != "/" else []
    return select(Unit).where(or_(principal.scope(Unit.region_path), Unit.region_path.in_(above)))


def list_units(
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


def get_unit(session: Session, principal: Principal, code: str) -> Unit:
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
    if region is None or not principal.covers(region.path):
        raise NotFound("行政区划", "region")
    if session.scalar(select(Unit.id).where(Unit.code == code)) is not None:
        raise Conflict("单位编码 {c} 已存在", "Unit code {c} already exists", c=code)
    unit = Unit(
        code=code,
        name=name,
        kind=kind,
        region_id=region.id,
        region_path=region.path,
        categories=sorted(set(categories)),
        phone=phone,
    )
    session.add(unit)
    session.commit()
    return unit


def update_unit(session: Session, principal: Principal, code: str, **fields: Any) -> Unit:
    """An administrator renames a unit of their jurisdiction, changes what it handles or
    its phone, or stops it (routing then passes it by; its open tasks stay with it until
    a dispatcher moves them)."""
    principal.require(Action.units_manage)
    unit = get_unit(session, principal, code)
    if "categories" in fields:
        fields["categories"] = sorted(set(fields["categories"]))
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
