"""Shared fixtures. The suite runs against the engine named by FENGQIAO_TEST_DATABASE
(`sqlite`, the default, or `postgresql`); each run migrates a new, empty database."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from fengqiao.api import create_app
from fengqiao.classify.flows import RECENT_MATTERS
from fengqiao.core import clock
from fengqiao.core.config import Settings
from fengqiao.core.database import make_engine, make_sessionmaker
from fengqiao.core.migrate import upgrade
from fengqiao.events.intake import MATTER_IDS
from fengqiao.models import Base
from tests.world import World, build_world

WORLD_BUILT = datetime(2026, 11, 20, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
BACKEND = os.environ.get("FENGQIAO_TEST_DATABASE", "sqlite")
PG_ADMIN_URL = os.environ.get(
    "FENGQIAO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def pytest_report_header() -> str:
    return f"fengqiao test database: {BACKEND}"


@contextmanager
def new_database(folder: Path) -> Iterator[str]:
    """The URL of a new, empty database of the backend under test, dropped afterwards."""
    if BACKEND == "sqlite":
        yield f"sqlite:///{folder / f'{uuid.uuid4().hex[:10]}.sqlite3'}"
        return
    if BACKEND != "postgresql":
        raise RuntimeError(f"unknown FENGQIAO_TEST_DATABASE {BACKEND!r}")
    name = f"fengqiao_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # a PostgreSQL run that cannot reach its server fails
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}", pytrace=False)
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with new_database(tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def migrated_engine(database_url: str) -> Iterator[Engine]:
    """The schema built from empty by the Alembic migrations, not by create_all."""
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def _wipe(engine: Engine) -> None:
    RECENT_MATTERS.clear()  # ids start again from 1
    MATTER_IDS.clear()
    tables = [t.name for t in Base.metadata.sorted_tables]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in reversed(tables):
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture
def engine(migrated_engine: Engine) -> Iterator[Engine]:
    yield migrated_engine
    _wipe(migrated_engine)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        secret_key="test",
        max_body_bytes=256 * 1024,
        max_upload_bytes=64 * 1024,
        background="off",
    )


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with make_sessionmaker(engine)() as s:
        yield s


@pytest.fixture
def app_client(engine: Engine, settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    app.state.engine.dispose()


@pytest.fixture
def world(session: Session, settings: Settings) -> World:
    # Built before every moment the tests freeze the clock at, so timelines run forward.
    with clock.frozen(WORLD_BUILT):
        return build_world(session, settings.data_dir / "files")


@pytest.fixture
def client(app_client: TestClient, world: World) -> TestClient:
    return app_client
