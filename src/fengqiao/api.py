"""The FastAPI application: composes every domain's router."""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from anyio import to_thread
from fastapi import FastAPI, Request
from fastapi import Path as FastPath
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount
from starlette.types import ASGIApp

from fengqiao.assessment.views import router as assessment_router
from fengqiao.calendar.service import calendar_cache
from fengqiao.calendar.views import router as calendar_router
from fengqiao.core import clock
from fengqiao.core.config import Settings, check_settings, get_settings
from fengqiao.core.database import make_engine, make_sessionmaker
from fengqiao.core.errors import NotFound, error_responses, install_error_handlers
from fengqiao.core.headers import SecurityHeaders, security_headers
from fengqiao.core.limits import RequestLimits
from fengqiao.core.workflow import WORKFLOWS, WorkflowOut
from fengqiao.deps import LanguageDep, PrincipalDep
from fengqiao.geo.service import GridLocator
from fengqiao.geo.views import router as geo_router
from fengqiao.matters.flows import InProcessRunner, IntakeWriter, channels_from, reader_from
from fengqiao.matters.service import Intake, routing_cache
from fengqiao.matters.sweep import sweep as matters_sweep
from fengqiao.matters.views import router as matters_router
from fengqiao.mediation.case_views import public as mediation_public_router
from fengqiao.mediation.case_views import router as mediation_cases_router
from fengqiao.mediation.sweep import sweep as mediation_sweep
from fengqiao.mediation.views import router as mediation_router
from fengqiao.notify.views import router as notify_router
from fengqiao.people.views import router as people_router

WEB_DIST = Path(__file__).resolve().parent / "web"
# The API documentation's page and Swagger UI's files (npm swagger-ui-dist), put into the
# console's build by web/vite.config.ts: nothing of it comes from a public CDN.
API_DOCS = "apidocs"

log = logging.getLogger("fengqiao")
# Every domain's deadline sweep, run by the background (in process, or by workers).
SWEEPS = (matters_sweep, mediation_sweep)


class ConsolePath(Convertor[str]):
    """Any path but /api and what lies under it: those are the API's, and answer the JSON
    404 and 405 of the API, never the console's page."""

    regex = "(?!api(?:/|$)).*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("console", ConsolePath())


class Fengqiao(FastAPI):
    security_headers: tuple[tuple[str, str], ...] = ()

    def build_middleware_stack(self) -> ASGIApp:
        # Outside even the server-error middleware, so that a 500 carries the headers too.
        return SecurityHeaders(super().build_middleware_stack(), self.security_headers)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request, raised: str | None) -> str:
    """Every method some route answers on this path: FastAPI has one route per method, and
    Starlette's 405 names only those of the first route whose path matched. Each method is
    tried against the routes as the router would (the first full match wins)."""
    methods = {m.strip() for m in (raised or "").split(",") if m.strip()}
    for method in _METHODS:
        probe = {**request.scope, "method": method}
        for route in request.app.router.routes:
            match, _ = route.matches(probe)
            if match is Match.FULL:
                if not isinstance(route, Mount):  # a mount says itself what it allows
                    methods.add(method)
                break
    return ", ".join(m for m in _METHODS if m in methods)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    check_settings(settings)  # a notification channel without its target refuses to start
    clock.use_zone(settings.timezone)  # these settings' zone, not only the environment's
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # The threads, the intake writer, background work and a spare: none waits for another.
    engine = make_engine(settings.effective_database_url, pool_size=settings.threads + 4)
    app = Fengqiao(
        title="Fengqiao 枫桥 — 基层社会治理平台",
        version="0.1.0",
        docs_url=None,  # FastAPI's own page loads Swagger UI from a CDN; ours is below
        openapi_url="/api/openapi.json" if settings.api_docs else None,
        redoc_url=None,
    )
    app.security_headers = tuple(security_headers(settings.tile_origins))
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.grid_locator = GridLocator()
    app.state.calendar = calendar_cache()
    app.state.routing = routing_cache()
    app.state.reader = reader_from(settings, app.state.calendar.get)
    app.state.intake_writer = IntakeWriter(engine)
    app.state.intake = Intake(
        app.state.grid_locator, app.state.routing, app.state.reader, app.state.intake_writer
    )
    install_error_handlers(app)
    json_http_error = app.exception_handlers[StarletteHTTPException]

    async def method_not_allowed(request: Request, exc: Exception) -> Response:
        raised = (
            (exc.headers or {}).get("Allow") if isinstance(exc, StarletteHTTPException) else None
        )
        allow = allowed_methods(request, raised)
        answer = json_http_error(request, StarletteHTTPException(405, headers={"Allow": allow}))
        return await answer if inspect.isawaitable(answer) else answer

    app.add_exception_handler(405, method_not_allowed)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        to_thread.current_default_thread_limiter().total_tokens = settings.threads
        runner = None
        if settings.background == "inprocess":
            runner = InProcessRunner(
                app.state.sessionmaker,
                app.state.calendar,
                channels_from(settings),
                settings.background_interval,
                sweeps=SWEEPS,
            )
            runner.start()
        yield
        app.state.intake_writer.stop()
        if runner is not None:
            runner.stop()

    app.router.lifespan_context = lifespan
    app.add_middleware(RequestLimits, max_bytes=settings.max_body_bytes)

    @app.get(
        "/api/health",
        tags=["system"],
        summary="健康检查",
        responses={
            503: {"description": "数据库无法访问 · Database unreachable"},
            **error_responses(422),
        },
    )
    def health() -> JSONResponse:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return JSONResponse({"status": "ok", "database": engine.dialect.name})
        except Exception:
            log.exception("health check: database unreachable")
            return JSONResponse({"status": "error", "database": engine.dialect.name}, 503)

    @app.get(
        "/api/workflows/{name}",
        tags=["workflows 流程"],
        response_model=WorkflowOut,
        summary="流程说明：状态、操作及其表单（按调用者的语言）",
        responses=error_responses(401, 404, 422, 503),
    )
    def describe_workflow(
        name: Annotated[str, FastPath(max_length=32, pattern=r"^[a-z_]+$")],
        _: PrincipalDep,
        lang: LanguageDep,
    ) -> dict[str, Any]:
        flow = WORKFLOWS.get(name)
        if flow is None:
            raise NotFound("流程", "workflow")
        return flow.describe(lang)

    # The matters first: intake is the busiest route, and routes are matched in order.
    for router in (
        matters_router,
        people_router,
        geo_router,
        calendar_router,
        assessment_router,
        notify_router,
        mediation_router,
        mediation_cases_router,
        mediation_public_router,
    ):
        app.include_router(router)

    web = settings.web_dir or WEB_DIST
    docs = web / API_DOCS
    if settings.api_docs and (docs / "index.html").exists():
        # The page's script is a file of its own: the Content-Security-Policy allows no
        # inline script, here either.
        @app.get("/api/docs", include_in_schema=False)
        def api_docs() -> FileResponse:
            return FileResponse(docs / "index.html")

        app.mount("/api/docs/files", StaticFiles(directory=docs), name="api-docs")

    if (web / "index.html").exists():
        app.mount("/assets", StaticFiles(directory=web / "assets"), name="assets")

        root_files = {p.name for p in web.iterdir() if p.is_file()}

        @app.get("/{path:console}", include_in_schema=False)
        def spa(path: str) -> Any:
            if path in root_files:  # the service worker and its runtime, from the root
                return FileResponse(web / path)
            return FileResponse(web / "index.html")

    return app
