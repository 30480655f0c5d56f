"""FastAPI dependencies every router uses: the settings, a database session with the
caller recorded for the audit log, and the calling principal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from fengqiao.core import audit
from fengqiao.core.config import Settings
from fengqiao.core.database import read_retrying
from fengqiao.core.errors import Unauthorized, request_language
from fengqiao.core.permissions import Principal
from fengqiao.core.security import token_digest
from fengqiao.core.workcalendar import WorkCalendar
from fengqiao.people import sessions


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session for the request. Opened and closed on the event loop, not on a worker
    thread: a request that held a connection while it waited for a free thread to close
    its session could leave every thread waiting for a connection."""
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


async def get_principal(
    request: Request, session: Annotated[Session, Depends(get_session)]
) -> Principal:
    """The caller: from the process's cache when it was read within the last second,
    else from the database on a worker thread."""
    token = _bearer(request)
    principal = sessions.PRINCIPALS.get(token_digest(token))
    if principal is None:
        principal = await run_in_threadpool(_read_principal, session, token)
    audit.set_actor(session, principal, request.client.host if request.client else None)
    return principal


def _read_principal(session: Session, token: str) -> Principal:
    # The connection goes back before the endpoint, which may wait for a free thread:
    # requests holding connections while they waited left threads without any.
    return read_retrying(session, lambda: sessions.principal_for_token(session, token))


def get_language(request: Request) -> str:
    return request_language(request)


def get_calendar(
    request: Request, session: Annotated[Session, Depends(get_session)]
) -> WorkCalendar:
    """The working calendar deadlines and time left are counted on (cached)."""
    cal: WorkCalendar = request.app.state.calendar.get(session)
    return cal


SessionDep = Annotated[Session, Depends(get_session)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
LanguageDep = Annotated[str, Depends(get_language)]
CalendarDep = Annotated[WorkCalendar, Depends(get_calendar)]
