from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Header, Query, Request, Response

from fengqiao.core.config import Settings
from fengqiao.core.errors import Unauthorized, error_responses
from fengqiao.core.fields import CategoryCode, Flag, Id, Limit, Offset, PlaceCode, Text, UnitCode
from fengqiao.core.permissions import Role
from fengqiao.deps import LanguageDep, PrincipalDep, SessionDep, SettingsDep
from fengqiao.geo import service as geo
from fengqiao.geo.views import grid_out
from fengqiao.people import service, sessions
from fengqiao.people.enums import TeamRole
from fengqiao.people.models import Unit, User
from fengqiao.people.schemas import (
    GridDetail,
    LoginRequest,
    MeOut,
    RefreshRequest,
    TeamMemberOut,
    TokenPair,
    UnitBrief,
    UnitCreate,
    UnitOut,
    UnitUpdate,
    UserCreate,
    UserOut,
    UserUpdate,
)

router = APIRouter(tags=["people 人员与登录"], responses=error_responses(401, 422, 503))


# The refresh token lives in an HttpOnly cookie sent only to /api/auth: page scripts
# never see it. The console asks for that with X-Token-Transport: cookie and then gets no
# refresh token in the body; an API client that does not ask gets it in the body as well.
REFRESH_COOKIE = "fengqiao_refresh"
REFRESH_COOKIE_PATH = "/api/auth"
TRANSPORT_HEADER = "X-Token-Transport"

_TRANSPORT = (
    "The refresh token is set in an HttpOnly, SameSite=Strict cookie `fengqiao_refresh` "
    "(Path=/api/auth, Secure over https). With the request header "
    "`X-Token-Transport: cookie` (the web console) the answer carries no `refresh_token`; "
    "without it (API clients) the answer carries it too."
)


TransportDep = Annotated[
    str | None,
    Header(
        alias=TRANSPORT_HEADER,
        description="`cookie`: the refresh token only in the HttpOnly cookie, not in the body",
    ),
]
RefreshCookieDep = Annotated[
    str | None, Cookie(alias=REFRESH_COOKIE, description="set by login and refresh")
]


def _cookie_transport(transport: str | None) -> bool:
    return (transport or "").strip().lower() == "cookie"


def _cookie_options(request: Request) -> dict[str, Any]:
    secure = request.url.scheme == "https"
    return {"path": REFRESH_COOKIE_PATH, "secure": secure, "httponly": True, "samesite": "strict"}


def _set_refresh_cookie(
    response: Response, request: Request, token: str, settings: Settings
) -> None:
    max_age = settings.refresh_token_days * 24 * 3600
    response.set_cookie(REFRESH_COOKIE, token, max_age=max_age, **_cookie_options(request))


@router.post(
    "/api/auth/login",
    response_model=TokenPair,
    response_model_exclude_none=True,
    summary="登录（刷新令牌：浏览器在 HttpOnly Cookie 中；API 客户端另在应答体中）",
    description=_TRANSPORT,
    responses=error_responses(413, 429),
)
def login(
    body: LoginRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    transport: TransportDep = None,
) -> TokenPair:
    ip = request.client.host if request.client else None
    access, refresh, expires = sessions.login(session, settings, body.username, body.password, ip)
    _set_refresh_cookie(response, request, refresh, settings)
    in_body = None if _cookie_transport(transport) else refresh
    return TokenPair(access_token=access, refresh_token=in_body, expires_in=expires)


@router.post(
    "/api/auth/refresh",
    response_model=TokenPair,
    response_model_exclude_none=True,
    summary="刷新令牌（读 Cookie；API 客户端可在请求体中给出 refresh_token）",
    description="Rotates both tokens. The refresh token is read from the body when it "
    "carries one, else from the cookie; a rotated (reused) token is refused. The new one "
    "goes into the cookie, and into the body only when the old one came in the body and "
    "the request did not carry `X-Token-Transport: cookie`.",
    responses=error_responses(413),
)
def refresh(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    body: RefreshRequest | None = None,
    transport: TransportDep = None,
    cookie: RefreshCookieDep = None,
) -> TokenPair:
    sent = body.refresh_token if body else None
    token = sent or cookie
    if not token:
        raise Unauthorized("登录已失效，请重新登录", "Session expired; please log in again")
    access, new_refresh, expires = sessions.refresh(session, settings, token)
    _set_refresh_cookie(response, request, new_refresh, settings)
    in_body = new_refresh if sent and not _cookie_transport(transport) else None
    return TokenPair(access_token=access, refresh_token=in_body, expires_in=expires)


@router.post("/api/auth/logout", status_code=204, summary="退出登录（并清除刷新令牌 Cookie）")
def logout(request: Request, session: SessionDep, principal: PrincipalDep) -> Response:
    sessions.logout(session, principal)
    response = Response(status_code=204)
    response.delete_cookie(REFRESH_COOKIE, **_cookie_options(request))
    return response


def unit_brief(unit: Unit | None) -> UnitBrief | None:
    return UnitBrief(id=unit.id, code=unit.code, name=unit.name) if unit else None


@router.get("/api/me", response_model=MeOut, summary="当前用户")
def me(session: SessionDep, principal: PrincipalDep, lang: LanguageDep) -> MeOut:
    user = service.read_user(session, principal, principal.user_id)
    roles = sorted(principal.roles)
    return MeOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        roles=[r.value for r in roles],
        role_names=[r.label(lang) for r in roles],
        actions=sorted(a.value for a in principal.actions),
        jurisdiction_path=user.region_path,
        jurisdiction_name=service.jurisdiction_name(session, user.region_path, lang),
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


@router.get(
    "/api/users",
    response_model=list[UserOut],
    summary="用户列表（个人信息脱敏）",
    responses=error_responses(403),
)
def read_users(
    session: SessionDep,
    principal: PrincipalDep,
    role: Role | None = None,
    q: Annotated[str | None, Text(64)] = None,
    limit: Annotated[int, Limit(500)] = 100,
    offset: Offset = 0,
) -> list[UserOut]:
    users = service.read_users(session, principal, role=role, q=q, limit=limit, offset=offset)
    return [user_out(session, principal, u) for u in users]


@router.get(
    "/api/users/{user_id}",
    response_model=UserOut,
    summary="用户详情；unmasked=true 显示完整个人信息（需授权并记入审计）",
    responses=error_responses(403, 404),
)
def read_user(
    user_id: Id, session: SessionDep, principal: PrincipalDep, unmasked: Flag = False
) -> UserOut:
    user = service.read_user(session, principal, user_id)
    return user_out(session, principal, user, unmasked)


@router.post(
    "/api/users",
    response_model=UserOut,
    status_code=201,
    summary="新增用户",
    responses=error_responses(403, 404, 409, 413),
)
def create_user(body: UserCreate, session: SessionDep, principal: PrincipalDep) -> UserOut:
    user = service.add_user(session, principal, **body.model_dump())
    return user_out(session, principal, user)


@router.patch(
    "/api/users/{user_id}",
    response_model=UserOut,
    summary="修改用户：角色、辖区、密码、停用",
    responses=error_responses(403, 404, 409, 413),
)
def update_user(
    user_id: Id, body: UserUpdate, session: SessionDep, principal: PrincipalDep
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


@router.get(
    "/api/units", response_model=list[UnitOut], summary="单位列表", responses=error_responses(403)
)
def read_units(
    session: SessionDep,
    principal: PrincipalDep,
    kind: Annotated[str | None, Query(max_length=16)] = None,
    category: CategoryCode | None = None,
    limit: Annotated[int, Limit(2000)] = 500,
    offset: Offset = 0,
) -> list[UnitOut]:
    units = service.read_units(
        session, principal, kind=kind, category=category, limit=limit, offset=offset
    )
    return [unit_out(u) for u in units]


@router.get(
    "/api/units/{code}",
    response_model=UnitOut,
    summary="单位详情",
    responses=error_responses(403, 404),
)
def read_unit(code: UnitCode, session: SessionDep, principal: PrincipalDep) -> UnitOut:
    return unit_out(service.read_unit(session, principal, code))


@router.post(
    "/api/units",
    response_model=UnitOut,
    status_code=201,
    summary="新增单位",
    responses=error_responses(403, 404, 409, 413),
)
def create_unit(body: UnitCreate, session: SessionDep, principal: PrincipalDep) -> UnitOut:
    return unit_out(service.add_unit(session, principal, **body.model_dump()))


@router.patch(
    "/api/units/{code}",
    response_model=UnitOut,
    summary="修改单位：名称、职责类别、停用",
    responses=error_responses(403, 404, 413),
)
def update_unit(
    code: UnitCode, body: UnitUpdate, session: SessionDep, principal: PrincipalDep
) -> UnitOut:
    fields = body.model_dump(exclude_unset=True)
    return unit_out(service.update_unit(session, principal, code, **fields))


# The grid's team is people's: the grid detail is answered here, so that geo needs
# nothing of people.
@router.get(
    "/api/grids/{code}",
    response_model=GridDetail,
    summary="网格详情（含网格团队）",
    tags=["geo 网格"],
    responses=error_responses(403, 404),
)
def read_grid(
    code: PlaceCode, session: SessionDep, principal: PrincipalDep, lang: LanguageDep
) -> GridDetail:
    grid = geo.read_grid(session, principal, code)
    team = [
        TeamMemberOut(
            user_id=u.id,
            display_name=u.display_name,
            team_role=m.team_role,
            team_role_name=TeamRole(m.team_role).label(lang),
            phone=service.personal_fields(session, principal, u, unmasked=False)[0],
        )
        for m, u in service.grid_team(session, grid)
    ]
    return GridDetail(**grid_out(grid, lang, with_geometry=True).model_dump(), team=team)
