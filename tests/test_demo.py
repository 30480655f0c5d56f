"""The README's first command: the demo county, served, with one working login per role."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.api import create_app
from fengqiao.calendar.service import build_calendar
from fengqiao.core import clock
from fengqiao.core.config import Settings
from fengqiao.core.database import make_engine, make_sessionmaker
from fengqiao.core.levels import Level
from fengqiao.core.permissions import Role
from fengqiao.demo.build import DEMO_PASSWORD, build
from fengqiao.geo.models import Grid, Region
from fengqiao.matters import service
from fengqiao.matters.enums import MatterState
from fengqiao.matters.lifecycle import TRANSITIONS
from fengqiao.matters.models import Matter, TimelineEntry
from fengqiao.people.models import GridMember, Unit, User
from tests.conftest import DEMO_BUILT, DemoCopy
from tests.live import free_port
from tests.loopcheck import check_loop

BUILT = DEMO_BUILT


def _count(session: Session, stmt: object) -> int:
    return session.scalar(stmt) or 0  # type: ignore[call-overload, no-any-return]


@pytest.fixture
def demo_session(demo: DemoCopy) -> Iterator[Session]:
    engine = make_engine(demo.url)
    with make_sessionmaker(engine)() as session:
        yield session
    engine.dispose()


@pytest.fixture
def demo_client(demo: DemoCopy, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=demo.url, data_dir=tmp_path, background="off"))
    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()


def test_demo_county_has_the_published_shape(
    demo: DemoCopy, demo_session: Session, demo_client: TestClient
) -> None:
    session, app_client, logins = demo_session, demo_client, demo.logins
    assert {login.role for login in logins} == set(Role)
    townships = _count(session, select(func.count()).where(Region.level == Level.township))
    communities = _count(session, select(func.count()).where(Region.level == Level.community))
    assert townships == 7 and 90 <= communities <= 110
    kinds = dict(session.execute(select(Grid.kind, func.count()).group_by(Grid.kind)).all())
    assert kinds["base"] == 134 and kinds["enterprise"] == 2 and kinds["sea"] >= 6
    team = dict(
        session.execute(
            select(GridMember.team_role, func.count()).group_by(GridMember.team_role)
        ).all()
    )
    assert team == {
        "grid_head": 114,
        "grid_instructor": 104,
        "grid_worker_fulltime": 132,
        "grid_worker_parttime": 268,
    }
    assert _count(session, select(func.count()).select_from(Unit)) >= 16 + 7 * 5

    # A year of matters, in every state, each consistent with the loop's rules.
    assert check_loop(session) == 15_000
    states = dict(session.execute(select(Matter.state, func.count()).group_by(Matter.state)).all())
    assert set(states) == set(MatterState), states
    first, last = session.execute(
        select(func.min(Matter.reported_at), func.max(Matter.reported_at))
    ).one()
    assert timedelta(days=360) < last - first and last <= BUILT
    actions = set(session.scalars(select(TimelineEntry.action).distinct()))
    assert set(TRANSITIONS) - {"remind", "supervise"} <= actions | {"reopen"}, actions
    assert session.scalar(select(func.count()).where(Matter.next_sweep_at.is_not(None))) == (
        states["dispatched"] + states["in_progress"]
    )
    # The sweeper takes up the overdue ones through the service.
    with clock.frozen(BUILT):
        moved = service.sweep(session, build_calendar(session))
    assert moved > 0
    check_loop(session)

    # Building again changes nothing.
    users = _count(session, select(func.count()).select_from(User))
    assert build(session) == logins
    assert _count(session, select(func.count()).select_from(User)) == users

    for login in logins:
        resp = app_client.post(
            "/api/auth/login", json={"username": login.username, "password": DEMO_PASSWORD}
        )
        assert resp.status_code == 200, login
        me = app_client.get(
            "/api/me", headers={"Authorization": f"Bearer {resp.json()['access_token']}"}
        ).json()
        assert login.role.value in me["roles"]

    # Every grid's own representative point locates back to it.
    admin = app_client.post(
        "/api/auth/login", json={"username": "admin", "password": DEMO_PASSWORD}
    ).json()
    headers = {"Authorization": f"Bearer {admin['access_token']}"}
    grids = session.execute(select(Grid.code, Grid.centroid_lon, Grid.centroid_lat)).all()
    resp = app_client.post(
        "/api/geo/locate-many",
        headers=headers,
        json={"points": [{"lon": lon, "lat": lat} for _, lon, lat in grids]},
    )
    found = [r["grid"]["code"] if r["grid"] else None for r in resp.json()["results"]]
    assert found == [code for code, _, _ in grids]


def test_demo_command_serves_the_county(demo: DemoCopy, tmp_path: Path) -> None:
    """On the county built (as a first run leaves it), the command prints the logins and
    serves."""
    port = free_port()
    env = {
        **os.environ,
        "FENGQIAO_DATABASE_URL": demo.url,
        "FENGQIAO_DATA_DIR": str(tmp_path),
        "COLUMNS": "200",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "fengqiao.cli", "demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline() if proc.stdout else ""
            output.append(line)
            if "Fengqiao is at" in line or proc.poll() is not None:
                break
        for _ in range(100):
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        health = httpx.get(f"{base}/api/health", timeout=5).json()
        assert health["status"] == "ok"
        printed = "".join(output)
        usernames = re.findall(r"^│\s*([a-z][a-z_0-9]+)\s*│", printed, re.MULTILINE)
        assert len(usernames) == len(Role), printed
        for username in usernames:
            resp = httpx.post(
                f"{base}/api/auth/login",
                timeout=5,
                json={"username": username, "password": DEMO_PASSWORD},
            )
            assert resp.status_code == 200, (username, resp.text)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
