"""Shared fixtures. The suite runs against the engine named by FENGQIAO_TEST_DATABASE
(`sqlite`, the default, or `postgresql`); each run migrates a new, empty database."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from copy import deepcopy
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.orm import Session

from fengqiao.api import create_app
from fengqiao.classify.flows import RECENT_MATTERS
from fengqiao.core import clock
from fengqiao.core.config import Settings
from fengqiao.core.database import make_engine, make_sessionmaker
from fengqiao.core.migrate import upgrade
from fengqiao.core.models import Revision
from fengqiao.core.revision import bump_revision
from fengqiao.matters.intake import MATTER_IDS
from fengqiao.models import Base
from tests.shared_data import in_ci
from tests.world import World, build_world

WORLD_BUILT = datetime(2026, 11, 20, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
BACKEND = os.environ.get("FENGQIAO_TEST_DATABASE", "sqlite")
PG_ADMIN_URL = os.environ.get(
    "FENGQIAO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def pytest_report_header() -> str:
    return f"fengqiao test database: {BACKEND}"


class SkipsFailInCI:
    """In CI every test must run: a skip (of a test or of a whole module) fails the run,
    and the summary names each skipped test with its reason."""

    def __init__(self) -> None:
        self.skipped: list[tuple[str, str]] = []

    def _note(self, report: pytest.CollectReport | pytest.TestReport) -> None:
        if report.skipped and not hasattr(report, "wasxfail"):
            longrepr = report.longrepr
            reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
            self.skipped.append((report.nodeid, reason))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._note(report)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        self._note(report)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.skipped and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.skipped:
            terminalreporter.section(f"{len(self.skipped)} skipped: a skip fails CI", red=True)
            for nodeid, reason in self.skipped:
                terminalreporter.write_line(f"SKIPPED {nodeid} - {reason}")


def pytest_configure(config: pytest.Config) -> None:
    if in_ci():
        config.pluginmanager.register(SkipsFailInCI(), "fengqiao-skips-fail-in-ci")


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


@dataclass(frozen=True)
class DemoCopy:
    """The demo county as `fengqiao demo` leaves it (its text model trained), in a database
    of its own: built once per run, cloned for each test that uses it."""

    url: str
    model_dir: Path
    logins: list[Any]


DEMO_BUILT = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoCopy]:
    from fengqiao.demo.build import build  # the demo's generators: only when used

    folder = tmp_path_factory.mktemp("demo")
    with new_database(folder) as url:
        engine = make_engine(url)
        try:
            upgrade(engine)
            with make_sessionmaker(engine)() as session, clock.frozen(DEMO_BUILT):
                logins = build(session, model_dir=folder / "classifier")
        finally:
            engine.dispose()
        RECENT_MATTERS.clear()
        MATTER_IDS.clear()
        yield DemoCopy(url, folder / "classifier", logins)


@contextmanager
def cloned_database(url: str, folder: Path) -> Iterator[str]:
    """A copy of the database at `url` (which nobody is connected to), dropped afterwards."""
    if BACKEND == "sqlite":
        copy = folder / f"{uuid.uuid4().hex[:10]}.sqlite3"
        shutil.copyfile(url.removeprefix("sqlite:///"), copy)
        yield f"sqlite:///{copy}"
        return
    name, source = f"fengqiao_test_{uuid.uuid4().hex[:10]}", url.rsplit("/", 1)[1]
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
        yield url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def demo(demo_template: DemoCopy, tmp_path: Path) -> Iterator[DemoCopy]:
    """A fresh copy of the built demo county, with a copy of its model."""
    with cloned_database(demo_template.url, tmp_path) as url:
        shutil.copytree(demo_template.model_dir, tmp_path / "classifier")
        yield DemoCopy(url, tmp_path / "classifier", demo_template.logins)
    RECENT_MATTERS.clear()
    MATTER_IDS.clear()


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


def wipe(engine: Engine) -> None:
    """Back to a just-migrated database: every table emptied, and the ids this process
    keeps in memory forgotten."""
    RECENT_MATTERS.clear()  # ids start again from 1
    MATTER_IDS.clear()
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
        if engine.dialect.name == "postgresql":
            # Every sequence of the tables back to 1. (DELETE and this take a tenth of
            # the time TRUNCATE takes on these small tables.)
            conn.execute(
                text(
                    "SELECT setval(s.oid, 1, false) FROM pg_class s JOIN pg_depend d"
                    " ON d.objid = s.oid AND d.deptype IN ('a', 'i') WHERE s.relkind = 'S'"
                )
            )


@pytest.fixture
def engine(migrated_engine: Engine) -> Iterator[Engine]:
    yield migrated_engine
    wipe(migrated_engine)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
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


@dataclass(frozen=True)
class WorldCopy:
    """The test world built once on the backend under test, kept as its rows and files."""

    world: World
    rows: dict[str, list[dict[str, Any]]]  # by table, parents first, each in key order
    files: Path
    revisions: dict[str, int]


@pytest.fixture(scope="session")
def world_copy(tmp_path_factory: pytest.TempPathFactory) -> WorldCopy:
    """Built in a database of its own, so that building it touches no test's data."""
    folder = tmp_path_factory.mktemp("world")
    with new_database(folder) as url:
        engine = make_engine(url)
        try:
            upgrade(engine)
            with make_sessionmaker(engine)() as session, clock.frozen(WORLD_BUILT):
                # Built before every moment the tests freeze the clock at: timelines run
                # forward.
                world = build_world(session, folder / "files")
            with engine.connect() as conn:
                rows = {
                    table.name: [
                        {column.key: row._mapping[column] for column in table.columns}
                        for row in conn.execute(select(table).order_by(*table.primary_key))
                    ]
                    for table in Base.metadata.sorted_tables
                }
        finally:
            engine.dispose()
    revisions = {r["name"]: r["value"] for r in rows.pop(Revision.__tablename__)}
    return WorldCopy(world, rows, folder / "files", revisions)


def restore_world(engine: Engine, copy: WorldCopy, files: Path) -> World:
    """The world as `build_world` leaves it, from its copy: the same rows (ids and
    sequences included) and files, and the caches of this process told of the change as
    the build's own commits tell them."""
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            if copy.rows.get(table.name):
                conn.execute(table.insert(), copy.rows[table.name])
        if engine.dialect.name == "postgresql":
            for table in Base.metadata.sorted_tables:
                if (column := table.autoincrement_column) is not None:
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', "
                            f"'{column.name}'), COALESCE(MAX({column.name}), 0) + 1, false) "
                            f"FROM {table.name}"
                        )
                    )
    with make_sessionmaker(engine)() as session:
        for name, value in copy.revisions.items():
            for _ in range(value):
                bump_revision(session, name)
        session.commit()
    shutil.copytree(copy.files, files, dirs_exist_ok=True)
    return deepcopy(copy.world)


@pytest.fixture
def world(engine: Engine, session: Session, settings: Settings, world_copy: WorldCopy) -> World:
    """The test world, fresh for each test (restored from a copy: building it for each
    test was a good part of the suite's time)."""
    restored = restore_world(engine, world_copy, settings.data_dir / "files")
    session.info["actor_name"] = "test-world"  # as build_world leaves the session
    return restored


@pytest.fixture
def client(app_client: TestClient, world: World) -> TestClient:
    return app_client
