"""The FastAPI application: composes every domain's router."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from anyio import to_thread
from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException

from fengqiao.assessment.views import router as assessment_router
from fengqiao.calendar.service import calendar_cache
from fengqiao.calendar.views import router as calendar_router
from fengqiao.core.config import Settings, get_settings
from fengqiao.core.database import make_engine, make_sessionmaker
from fengqiao.core.errors import install_error_handlers
from fengqiao.core.limits import RequestLimits
from fengqiao.events.flows import InProcessRunner, IntakeWriter, channels_from, reader_from
from fengqiao.events.service import routing_cache
from fengqiao.events.views import router as events_router
from fengqiao.geo.service import GridLocator
from fengqiao.geo.views import router as geo_router
from fengqiao.people.views import router as people_router

WEB_DIST = Path(__file__).resolve().parent / "web"

log = logging.getLogger("fengqiao")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # The threads, the intake writer, background work and a spare: none waits for another.
    engine = make_engine(settings.effective_database_url, pool_size=settings.threads + 4)
    app = FastAPI(
        title="Fengqiao 枫桥 — 基层社会治理平台",
        version="0.1.0",
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.grid_locator = GridLocator()
    app.state.calendar = calendar_cache()
    app.state.routing = routing_cache()
    app.state.reader = reader_from(settings, app.state.calendar.get)
    app.state.intake_writer = IntakeWriter(engine)
    install_error_handlers(app)

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
            )
            runner.start()
        yield
        app.state.intake_writer.stop()
        if runner is not None:
            runner.stop()

    app.router.lifespan_context = lifespan
    app.add_middleware(RequestLimits, max_bytes=settings.max_body_bytes)

    @app.get("/api/health", tags=["system"], summary="健康检查")
    def health() -> JSONResponse:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return JSONResponse({"status": "ok", "database": engine.dialect.name})
        except Exception:
            log.exception("health check: database unreachable")
            return JSONResponse({"status": "error", "database": engine.dialect.name}, 503)

    # The matters first: intake is the busiest route, and routes are matched in order.
    for router in (events_router, people_router, geo_router, calendar_router, assessment_router):
        app.include_router(router)

    web = settings.web_dir or WEB_DIST
    if (web / "index.html").exists():
        app.mount("/assets", StaticFiles(directory=web / "assets"), name="assets")

        root_files = {p.name for p in web.iterdir() if p.is_file()}

        @app.get("/{path:path}", include_in_schema=False)
        def spa(path: str) -> Any:
            if path.startswith("api/"):
                raise StarletteHTTPException(404)  # the JSON 404, in the caller's language
            if path in root_files:  # the service worker and its runtime, from the root
                return FileResponse(web / path)
            return FileResponse(web / "index.html")

    return app
