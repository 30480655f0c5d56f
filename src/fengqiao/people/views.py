from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from fengqiao.core.permissions import ROLE_NAMES_ZH, Role
from fengqiao.deps import PrincipalDep, SessionDep, SettingsDep
from fengqiao.people import service
from fengqiao.people.models import Unit, User
from fengqiao.people.schemas import (
    LoginRequest,
    MeOut,
    RefreshRequest,
    TokenPair,
    UnitBrief,
    UnitCreate,
    UnitOut,
    UnitUpdate,
    UserCreate,
    UserOut,
    UserUpdate,
)

router = APIRouter(tags=["people 人员与登录"])


@router.post("/api/auth/login", response_model=TokenPair, summary="登录")
def login(
    body: LoginRequest, request: Request, session: SessionDep, settings: SettingsDep
) -> TokenPair:
    ip = request.client.host if request.client else None
    access, refresh, expires = service.login(session, settings, body.username, body.password, ip)
    return TokenPair(access_token=access, refresh_token=refresh, expires_in=expires)


@router.post("/api/auth/refresh", response_model=TokenPair, summary="刷新令牌")
def refresh(body: RefreshRequest, session: SessionDep, settings: SettingsDep) -> TokenPair:
    access, new_refresh, expires = service.refresh(session, settings, body.refresh_token)
    return TokenPair(access_token=access, refresh_token=new_refresh, expires_in=expires)


@router.post("/api/auth/logout", status_code=204, summary="退出登录")
def logout(session: SessionDep, principal: PrincipalDep) -> Response:
    service.logout(session, principal)
    return Response(status_code=204)


def unit_brief(unit: Unit | None) -> UnitBrief | None:
    return UnitBrief(id=unit.id, code=unit.code, name=unit.name) if unit else None


@router.get("/api/me", response_model=MeOut, summary="当前用户")
def me(session: SessionDep, principal: PrincipalDep) -> MeOut:
    user = service.read_user(session, principal, principal.user_id)
    roles = sorted(principal.roles)
    return MeOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        roles=[r.value for r in roles],
        role_names=[ROLE_NAMES_ZH[r] for r in roles],
        actions=sorted(a.value for a in principal.actions),
        jurisdiction_path=user.region_path,
        jurisdiction_name=service.jurisdiction_name(session, user.region_path),
        unit=unit_brief(user.unit),
        language=user.language,
    )


def user_out(
    session: SessionDep, principal: PrincipalDep, user: User, unmasked: bool = False
) -> UserOut:
    phone, id_number, masked = service.personal_fields(session, principal, user, unmasked)
    return UserOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        phone=phone,
        id_number=id_number,
        roles=user.role_names,
        jurisdiction_path=user.region_path,
        unit=unit_brief(user.unit),
        is_active=user.is_active,
        masked=masked,
    )


@router.get("/api/users", response_model=list[UserOut], summary="用户列表（个人信息脱敏）")
def list_users(
    session: SessionDep,
    principal: PrincipalDep,
    role: Role | None = None,
    q: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[UserOut]:
    users = service.list_users(session, principal, role=role, q=q, limit=limit, offset=offset)
    return [user_out(session, principal, u) for u in users]


@router.get(
    "/api/users/{user_id}",
    response_model=UserOut,
    summary="用户详情；unmasked=true 显示完整个人信息（需授权并记入审计）",
)
def read_user(
    user_id: int, session: SessionDep, principal: PrincipalDep, unmasked: bool = False
) -> UserOut:
    user = service.read_user(session, principal, user_id)
    return user_out(session, principal, user, unmasked)


@router.post("/api/users", response_model=UserOut, status_code=201, summary="新增用户")
def create_user(body: UserCreate, session: SessionDep, principal: PrincipalDep) -> UserOut:
    user = service.add_user(session, principal, **body.model_dump())
    return user_out(session, principal, user)


@router.patch(
    "/api/users/{user_id}", response_model=UserOut, summary="修改用户：角色、辖区、密码、停用"
)
def update_user(
    user_id: int, body: UserUpdate, session: SessionDep, principal: PrincipalDep
) -> UserOut:
    fields = body.model_dump(exclude_unset=True)
    user = service.update_user(session, principal, user_id, **fields)
    return user_out(session, principal, user)


def unit_out(unit: Unit) -> UnitOut:
    return UnitOut(
        id=unit.id,
        code=unit.code,
        name=unit.name,
        kind=unit.kind,
        region_path=unit.region_path,
        categories=unit.categories,
        phone=unit.phone,
        is_active=unit.is_active,
    )


@router.get("/api/units", response_model=list[UnitOut], summary="单位列表")
def list_units(
    session: SessionDep,
    principal: PrincipalDep,
    kind: Annotated[str | None, Query(max_length=16)] = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 500,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[UnitOut]:
    units = service.list_units(
        session, principal, kind=kind, category=category, limit=limit, offset=offset
    )
    return [unit_out(u) for u in units]


@router.get("/api/units/{code}", response_model=UnitOut, summary="单位详情")
def read_unit(code: str, session: SessionDep, principal: PrincipalDep) -> UnitOut:
    return unit_out(service.get_unit(session, principal, code))


@router.post("/api/units", response_model=UnitOut, status_code=201, summary="新增单位")
def create_unit(body: UnitCreate, session: SessionDep, principal: PrincipalDep) -> UnitOut:
    return unit_out(service.add_unit(session, principal, **body.model_dump()))


@router.patch("/api/units/{code}", response_model=UnitOut, summary="修改单位：名称、职责类别、停用")
def update_unit(
    code: str, body: UnitUpdate, session: SessionDep, principal: PrincipalDep
) -> UnitOut:
    fields = body.model_dump(exclude_unset=True)
    return unit_out(service.update_unit(session, principal, code, **fields))
