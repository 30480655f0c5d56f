"""FastAPI dependencies every router uses: the settings, a database session with the
caller recorded for the audit log, and the calling principal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from fengqiao.core import audit
from fengqiao.core.config import Settings
from fengqiao.core.errors import Unauthorized, request_language
from fengqiao.core.permissions import Principal
from fengqiao.people import service as people


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    session: Session = request.app.state.sessionmaker()
    audit.set_actor(session, None, request.client.host if request.client else None)
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("请先登录", "Please log in")
    return token.strip()


def get_principal(request: Request, session: Annotated[Session, Depends(get_session)]) -> Principal:
    principal = people.principal_for_token(session, _bearer(request))
    audit.set_actor(session, principal, request.client.host if request.client else None)
    return principal


def get_language(request: Request) -> str:
    return request_language(request)


SessionDep = Annotated[Session, Depends(get_session)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
LanguageDep = Annotated[str, Depends(get_language)]
